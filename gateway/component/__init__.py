"""Third-party platform (component) mode: companies connect their service account by authorizing the
gateway's platform on WeChat's Open Platform instead of handing over an AppSecret. Verify tickets and
authorization events, the component and authorizer tokens, the console's 授权接入 flow, and the
messages WeChat sends to the platform for every authorizer (WECHAT-COMPONENT.md)."""

"""Prometheus metrics of one gateway process (its own registry, so several apps can live
in one test process): callbacks, latency, token fetches, template sends, outbox depth."""
from __future__ import annotations

from typing import Awaitable, Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.callbacks = Counter("gateway_callbacks_total", "WeChat callbacks by tenant and outcome",
                                 ["tenant", "outcome"], registry=r)
        self.request_seconds = Histogram("gateway_request_seconds", "HTTP request latency by route",
                                         ["route"], registry=r)
        self.callback_seconds = Histogram("gateway_callback_seconds", "WeChat callback latency by tenant",
                                          ["tenant"], registry=r)
        self.token_fetches = Counter("gateway_token_fetches_total", "access_token/jsapi_ticket fetches",
                                     ["tenant", "kind", "result"], registry=r)
        self.wechat_calls = Counter("gateway_wechat_calls_total", "WeChat API calls by endpoint and outcome",
                                    ["endpoint", "outcome"], registry=r)
        self.template_sends = Counter("gateway_template_sends_total", "template message sends by result",
                                      ["tenant", "result"], registry=r)
        self.handler_errors = Counter("gateway_handler_errors_total", "tenant message handlers that failed",
                                      ["tenant", "kind"], registry=r)
        self.outbox_depth = Gauge("gateway_outbox_depth", "notifications waiting to be sent",
                                  ["tenant"], registry=r)
        self.webhook_deliveries = Counter("gateway_webhook_deliveries_total", "webhook attempts by result",
                                          ["tenant", "result"], registry=r)
        self._before_scrape: list[Callable[[], Awaitable[None]]] = []

    def before_scrape(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._before_scrape.append(hook)

    async def render(self) -> bytes:
        for hook in self._before_scrape:
            try:
                await hook()
            except Exception:
                pass
        return generate_latest(self.registry)

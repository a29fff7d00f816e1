"""`python -m simulator [--port 9009] [--host 127.0.0.1]`: run the WeChat simulator alone."""

from simulator.server import main

main()

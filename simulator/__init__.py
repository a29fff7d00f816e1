"""Local stand-in for WeChat's servers and a phone, spoken to over real HTTP on loopback.

Never imported by the gateway; used by its demo and tests (see `start_simulator`, `SimulatorClient`).
"""

from simulator.state import SimulatorState

__all__ = ["SimulatorState"]

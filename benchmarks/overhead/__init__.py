"""The overhead harness behind ``benchmarks/run``: turntrace against no tracing, the raw-OTel floor and its
peers, on one deterministic LangGraph agent."""

"""Real provider client libraries against loopback servers that answer in each provider's wire format.

``wire``: the HTTP server; ``script``: the provider-neutral three-turn conversation; ``checks``: what every traced
run must show (tokens as sent, cost as genai-prices computes it from the raw response, stop reasons, the tree).
One module per wire format renders the script in that format (JSON and streamed)."""

"""Every span attribute key we write: semconv constants where they exist, ours under ``turntrace.``."""

from typing import Final

from opentelemetry.semconv._incubating.attributes.gen_ai_attributes import (
    GEN_AI_AGENT_NAME,
    GEN_AI_CONVERSATION_ID,
    GEN_AI_INPUT_MESSAGES,
    GEN_AI_OPERATION_NAME,
    GEN_AI_OUTPUT_MESSAGES,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_FINISH_REASONS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_RESPONSE_MODEL,
    GEN_AI_TOKEN_TYPE,
    GEN_AI_TOOL_CALL_ARGUMENTS,
    GEN_AI_TOOL_CALL_ID,
    GEN_AI_TOOL_CALL_RESULT,
    GEN_AI_TOOL_NAME,
    GEN_AI_TOOL_TYPE,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
)
from opentelemetry.semconv._incubating.attributes.session_attributes import SESSION_ID
from opentelemetry.semconv._incubating.attributes.user_attributes import USER_ID
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE

__all__ = [
    "AGENT_VERSION",
    "BUDGET_EXCEEDED",
    "BUDGET_LIMIT",
    "BUDGET_SCOPE",
    "BUDGET_VALUE",
    "CAUSED_BY_GENERATION",
    "COST_SOURCE",
    "COST_USD",
    "ERROR_TYPE",
    "FEATURE",
    "GEN_AI_AGENT_NAME",
    "GEN_AI_ATTRIBUTION_LINK_TYPE",
    "GEN_AI_CONVERSATION_ID",
    "GEN_AI_INPUT_MESSAGES",
    "GEN_AI_OPERATION_NAME",
    "GEN_AI_OUTPUT_MESSAGES",
    "GEN_AI_PROVIDER_NAME",
    "GEN_AI_REQUEST_MODEL",
    "GEN_AI_RESPONSE_FINISH_REASONS",
    "GEN_AI_RESPONSE_ID",
    "GEN_AI_RESPONSE_MODEL",
    "GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK",
    "GEN_AI_TOKEN_TYPE",
    "GEN_AI_TOOL_CALL_ARGUMENTS",
    "GEN_AI_TOOL_CALL_ID",
    "GEN_AI_TOOL_CALL_RESULT",
    "GEN_AI_TOOL_NAME",
    "GEN_AI_TOOL_TYPE",
    "GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS",
    "GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS",
    "GEN_AI_USAGE_INPUT_TOKENS",
    "GEN_AI_USAGE_OUTPUT_TOKENS",
    "GEN_AI_USAGE_REASONING_OUTPUT_TOKENS",
    "HUMAN_WAIT",
    "INCOMPLETE",
    "INPUT_HASH",
    "INPUT_ROLES",
    "INTERRUPTED",
    "LINK_KIND",
    "LANGCHAIN_RUN_ID",
    "LANGSMITH_METADATA_PREFIX",
    "LANGSMITH_TAGS",
    "METADATA_JSON_KEYS",
    "LATENCY_MS",
    "PAUSE_CHECKPOINT_ID",
    "RESUMED",
    "RESUMES",
    "RESUME_CHECKPOINT_ID",
    "RETURN_SHAPE_HASH",
    "SERVICE_TIER",
    "SESSION_ID",
    "THREAD_ID",
    "STOP_REASON",
    "TOOL_CALL_COUNT",
    "TOOL_KIND",
    "TOTAL_COST_USD",
    "TOTAL_INPUT_TOKENS",
    "TOTAL_OUTPUT_TOKENS",
    "TURN_COUNT",
    "TURN_INDEX",
    "USAGE_CACHE_WRITE_1H_INPUT_TOKENS",
    "USER_ID",
]

# GenAI names the conventions define but our floor of opentelemetry-semantic-conventions (0.62b0) does not
# ship, or ships under an older name. tests/test_attributes.py pins each against the installed package.
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
"""Was ``gen_ai.usage.cache_creation.input_tokens`` in semconv 1.41 / the 0.66b2 package."""
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
"""Seconds from request to the first streamed chunk."""
GEN_AI_ATTRIBUTION_LINK_TYPE: Final = "gen_ai.attribution.link_type"
"""On a span link: why the linked span caused this one (a proposed GenAI convention for tool provenance)."""
CAUSED_BY_GENERATION: Final = "CAUSED_BY_GENERATION"
"""``gen_ai.attribution.link_type`` on an ``execute_tool`` span's link to the ``chat`` span that requested it."""

# Ours: the conventions have no cost, turn or hashing attributes.
FEATURE: Final = "turntrace.feature"
AGENT_VERSION: Final = "turntrace.agent_version"
TURN_COUNT: Final = "turntrace.turn_count"
TOOL_CALL_COUNT: Final = "turntrace.tool_call_count"
TOTAL_INPUT_TOKENS: Final = "turntrace.total_input_tokens"
TOTAL_OUTPUT_TOKENS: Final = "turntrace.total_output_tokens"
TOTAL_COST_USD: Final = "turntrace.total_cost_usd"
TURN_INDEX: Final = "turntrace.turn_index"
STOP_REASON: Final = "turntrace.stop_reason"
LATENCY_MS: Final = "turntrace.latency_ms"
COST_USD: Final = "turntrace.cost_usd"
COST_SOURCE: Final = "turntrace.cost_source"
USAGE_CACHE_WRITE_1H_INPUT_TOKENS: Final = "turntrace.usage.cache_write_1h.input_tokens"
"""Of ``gen_ai.usage.cache_write.input_tokens``, the writes kept an hour (Anthropic, Bedrock), priced apart from
the five-minute rest. Absent when a call wrote no one-hour cache."""
SERVICE_TIER: Final = "turntrace.service_tier"
"""The provider's service tier the call ran in and was priced at (OpenAI ``flex`` / ``priority``, ...), when the
provider names one."""
INPUT_HASH: Final = "turntrace.input_hash"
INPUT_ROLES: Final = "turntrace.input_roles"
"""On a chat span: the role of each input message in order (``user``, ``assistant``, ``tool``, ``system``): what a
call was sent, without its content."""
RETURN_SHAPE_HASH: Final = "turntrace.return_shape_hash"
TOOL_KIND: Final = "turntrace.tool.kind"
"""On a tool span: ``human_wait`` when the span is time the user took, not the tool (an imported Claude Code
``AskUserQuestion`` or ``ExitPlanMode``, a tool use the user turned down). ``turntrace top tools`` leaves such
calls out unless asked. Absent on ordinary tool calls."""
HUMAN_WAIT: Final = "human_wait"
"""``turntrace.tool.kind`` of a tool call whose span is the user deciding."""
INTERRUPTED: Final = "turntrace.interrupted"
INCOMPLETE: Final = "turntrace.incomplete"
LINK_KIND: Final = "turntrace.link_kind"
"""On a span link: ``resumes`` links a resumed run's agent span to the interrupted run it continues."""
RESUMED: Final = "turntrace.resumed"
"""On an agent span: the run resumes a paused one (LangGraph ``Command(resume=...)``, or no input after a
breakpoint). On a turn: it holds tool calls requested in the run that paused, which this run carries out after the
resume (there is no model call in it)."""
THREAD_ID: Final = "turntrace.thread_id"
"""On an agent run on a LangGraph thread: the thread id (the key of its checkpoints; the session defaults to it).
A resume continues a pause of the same thread."""
PAUSE_CHECKPOINT_ID: Final = "turntrace.pause.checkpoint_id"
"""On an interrupted agent span: the LangGraph checkpoint the run paused at (LangGraph >= 1.2 reports it)."""
RESUME_CHECKPOINT_ID: Final = "turntrace.resume.checkpoint_id"
"""On a resumed agent span: the LangGraph checkpoint it resumed from. Equal to the paused run's
``turntrace.pause.checkpoint_id``, in whichever process that run ran: the local store links the two by it."""
RESUMES: Final = "resumes"
"""``turntrace.link_kind`` of a resumed run's link to the run it continues."""
LANGCHAIN_RUN_ID: Final = "turntrace.langchain_run_id"
"""On an agent, chat or tool span: the id of the LangChain run it traces (an agent's is its outermost chain's:
``config["run_id"]`` when the app sets one). The LangSmith backend sends the run under this id."""
LANGSMITH_METADATA_PREFIX: Final = "langsmith.metadata."
"""``langsmith.metadata.<key>``: a key of the LangChain run's metadata as the app set it (secrets left out);
LangSmith's own OTel name for run metadata."""
LANGSMITH_TAGS: Final = "langsmith.span.tags"
"""The LangChain run's tags; LangSmith's own OTel name for them."""
METADATA_JSON_KEYS: Final = "turntrace.metadata_json_keys"
"""The metadata keys whose ``langsmith.metadata.<key>`` holds JSON text (a dict or a mixed list, which an OTel
attribute cannot hold); the LangSmith backend sends them as the structures they were."""
BUDGET_EXCEEDED: Final = "turntrace.budget_exceeded"
"""Span event on the agent span when its run crosses a ``Budget`` limit (once per limit per run)."""
BUDGET_SCOPE: Final = "turntrace.budget.scope"
"""On that event: ``run`` (max_cost_usd_per_run), ``session`` (max_cost_usd_per_session) or ``turns``."""
BUDGET_LIMIT: Final = "turntrace.budget.limit"
"""On that event: the limit crossed (USD, or a number of turns)."""
BUDGET_VALUE: Final = "turntrace.budget.value"
"""On that event: the cost in USD, or the number of the turn that was about to start."""

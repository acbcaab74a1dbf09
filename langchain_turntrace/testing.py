"""For your tests: a scripted chat model (real LangChain model plumbing, no provider, no network) and the wiring
check that fails a test when tracing is wired wrong.

>>> from langchain_core.messages import AIMessage
>>> model = ScriptedChatModel(script=[AIMessage(content="hi")])
>>> model.invoke("hello").content
'hi'
"""

from langchain_turntrace._scripted import ScriptedChatModel, answer_message, tool_calls_message
from langchain_turntrace.verify import WiringError, assert_well_wired

__all__ = ["ScriptedChatModel", "WiringError", "answer_message", "assert_well_wired", "tool_calls_message"]

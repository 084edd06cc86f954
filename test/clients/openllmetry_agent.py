"""A small tool-using agent on the OpenAI Python client, instrumented by OpenLLMetry.

Run by test/clients/openllmetry.test.ts in a venv it builds (see python-venv.ts). The OpenAI calls
are traced by `opentelemetry-instrumentation-openai` (spans `openai.chat` with `gen_ai.*` usage);
each prompt is wrapped in a GenAI-semconv `invoke_agent` span carrying `gen_ai.conversation.id`,
and each tool run in an `execute_tool` span, as an application using any GenAI instrumentation
would. Spans go to turnstream through the OTLP/HTTP protobuf exporter.

Prints, as one JSON line, what the OpenAI client itself received per prompt: the ground truth.

    python openllmetry_agent.py OPENAI_BASE_URL OTLP_BASE_URL SESSION MODEL
"""

import json
import sys

import openai
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.openai import OpenAIInstrumentor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

SECRET_ARG = "SECRET-PY-TOOL-ARG-31d0"
SECRET_RESULT = "SECRET-PY-TOOL-RESULT-c2e4"

TOOLS = [
    {"type": "function", "function": {"name": name, "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
    for name in ("get_weather", "lookup")
]


def run_tool(tracer, name, call_id, arguments):
    with tracer.start_as_current_span(
        f"execute_tool {name}",
        attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.tool.call.id": call_id},
    ):
        return json.dumps({"result": f"{SECRET_RESULT} for {json.loads(arguments or '{}').get('q', '')}"})


def chat(client, model, messages):
    """One streamed chat completion; returns (text, tool_calls, usage) as the client received them."""
    stream = client.chat.completions.create(
        model=model, messages=messages, tools=TOOLS, stream=True, stream_options={"include_usage": True}
    )
    text, calls, usage = "", {}, None
    for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            for tc in choice.delta.tool_calls or []:
                c = calls.setdefault(tc.index, {"id": "", "name": "", "arguments": ""})
                c["id"] = tc.id or c["id"]
                c["name"] = (tc.function.name if tc.function else None) or c["name"]
                c["arguments"] += (tc.function.arguments if tc.function else None) or ""
    return text, [calls[i] for i in sorted(calls)], usage


def main():
    openai_url, otlp_url, session, model = sys.argv[1:5]
    provider = TracerProvider(resource=Resource.create({"service.name": "openllmetry-test-agent"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{otlp_url}/v1/traces"), schedule_delay_millis=200))
    trace.set_tracer_provider(provider)
    OpenAIInstrumentor().instrument()
    tracer = trace.get_tracer("openllmetry-test-agent")
    client = openai.OpenAI(base_url=openai_url, api_key="sk-scripted-test", max_retries=0)

    truth = []
    messages = []
    for prompt in ("What is the weather, and look it up?", "Look up one more thing."):
        turn = {"prompt_tokens": 0, "cached_tokens": 0, "completion_tokens": 0, "llm_calls": 0, "tool_names": []}
        with tracer.start_as_current_span(
            "invoke_agent test-agent",
            attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "test-agent", "gen_ai.conversation.id": session},
        ):
            messages.append({"role": "user", "content": prompt})
            while True:
                text, calls, usage = chat(client, model, messages)
                turn["llm_calls"] += 1
                turn["prompt_tokens"] += usage.prompt_tokens
                turn["completion_tokens"] += usage.completion_tokens
                details = usage.prompt_tokens_details
                turn["cached_tokens"] += (details.cached_tokens or 0) if details else 0
                if not calls:
                    messages.append({"role": "assistant", "content": text})
                    break
                messages.append(
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": c["id"], "type": "function", "function": {"name": c["name"], "arguments": c["arguments"]}} for c in calls
                        ],
                    }
                )
                for c in calls:
                    turn["tool_names"].append(c["name"])
                    messages.append({"role": "tool", "tool_call_id": c["id"], "content": run_tool(tracer, c["name"], c["id"], c["arguments"])})
        truth.append(turn)
    provider.force_flush()
    provider.shutdown()
    print(json.dumps(truth))


if __name__ == "__main__":
    main()

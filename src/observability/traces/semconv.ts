/**
 * Attribute and span names Hearth writes, copied from the OpenTelemetry semantic conventions rather
 * than imported: every `gen_ai.*` name is still "Development" status, and the conventions package asks
 * instrumentation libraries to copy incubating names instead of importing its `/incubating` entry.
 *
 * Versions followed: OpenTelemetry semantic conventions 1.37 for `http.*`, `url.*`, `error.type`;
 * the GenAI conventions of open-telemetry/semantic-conventions-genai as of August 2026 (agent spans:
 * `invoke_agent {gen_ai.agent.name}`, inference spans: `chat {gen_ai.request.model}`, tool spans:
 * `execute_tool {gen_ai.tool.name}`). `OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`
 * changes nothing: Hearth has no older GenAI names to keep.
 */

// GenAI: operations
export const GEN_AI_OPERATION_NAME = "gen_ai.operation.name";
export const GEN_AI_OPERATION_CHAT = "chat";
export const GEN_AI_OPERATION_INVOKE_AGENT = "invoke_agent";
export const GEN_AI_OPERATION_EXECUTE_TOOL = "execute_tool";
export const GEN_AI_OPERATION_INVOKE_WORKFLOW = "invoke_workflow";
export const GEN_AI_OPERATION_EMBEDDINGS = "embeddings";

// GenAI: who and where
export const GEN_AI_PROVIDER_NAME = "gen_ai.provider.name";
export const GEN_AI_AGENT_NAME = "gen_ai.agent.name";
export const GEN_AI_AGENT_ID = "gen_ai.agent.id";
export const GEN_AI_CONVERSATION_ID = "gen_ai.conversation.id";
export const GEN_AI_WORKFLOW_NAME = "gen_ai.workflow.name";

// GenAI: the request and the response
export const GEN_AI_REQUEST_MODEL = "gen_ai.request.model";
export const GEN_AI_REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens";
export const GEN_AI_REQUEST_TEMPERATURE = "gen_ai.request.temperature";
export const GEN_AI_REQUEST_STREAM = "gen_ai.request.stream";
export const GEN_AI_RESPONSE_MODEL = "gen_ai.response.model";
export const GEN_AI_RESPONSE_ID = "gen_ai.response.id";
export const GEN_AI_RESPONSE_FINISH_REASONS = "gen_ai.response.finish_reasons";
export const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK = "gen_ai.response.time_to_first_chunk";

// GenAI: usage
export const GEN_AI_USAGE_INPUT_TOKENS = "gen_ai.usage.input_tokens";
export const GEN_AI_USAGE_OUTPUT_TOKENS = "gen_ai.usage.output_tokens";
export const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS = "gen_ai.usage.cache_read.input_tokens";
export const GEN_AI_USAGE_REASONING_OUTPUT_TOKENS = "gen_ai.usage.reasoning.output_tokens";

// GenAI: tools
export const GEN_AI_TOOL_NAME = "gen_ai.tool.name";
export const GEN_AI_TOOL_CALL_ID = "gen_ai.tool.call.id";
export const GEN_AI_TOOL_TYPE = "gen_ai.tool.type";

// General
export const ERROR_TYPE = "error.type";
export const HTTP_REQUEST_METHOD = "http.request.method";
export const HTTP_RESPONSE_STATUS_CODE = "http.response.status_code";
export const HTTP_ROUTE = "http.route";
export const URL_PATH = "url.path";
export const URL_SCHEME = "url.scheme";
export const SERVER_ADDRESS = "server.address";
export const USER_AGENT_ORIGINAL = "user_agent.original";
export const EXCEPTION_EVENT = "exception";
export const EXCEPTION_TYPE = "exception.type";
export const EXCEPTION_MESSAGE = "exception.message";
export const EXCEPTION_STACKTRACE = "exception.stacktrace";
export const SERVICE_NAME = "service.name";

// Hearth's own namespace, for what the conventions have no name for
/** The agent's class on every agent-event span (also `gen_ai.agent.name` on `invoke_agent`). */
export const HEARTH_AGENT_CLASS = "hearth.agent.class";
/** The agent's instance name. */
export const HEARTH_AGENT_NAME = "hearth.agent.name";
/** What kind of agent event a span is: request, message, rpc, schedule, queue, alarm, workflow_step, team_step, connect, close. */
export const HEARTH_EVENT = "hearth.event";
/** The request id of the HTTP request (the incoming `x-request-id`, or one Hearth made). */
export const HEARTH_REQUEST_ID = "hearth.request.id";
/** Estimated cost of a model call, in US dollars (from the model's price table, when known). */
export const HEARTH_COST_USD = "hearth.cost.usd";
/** The workflow instance id on workflow spans. */
export const HEARTH_WORKFLOW_INSTANCE = "hearth.workflow.instance_id";
/** The queue's name on queue-delivery spans. */
export const HEARTH_QUEUE_NAME = "hearth.queue.name";
/** The team run id on team spans. */
export const HEARTH_TEAM_RUN = "hearth.team.run_id";

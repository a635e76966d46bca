/** The `hearth inspect --help` text. */
export const INSPECT_USAGE = `Usage: hearth inspect <command> [arguments] [options]

The inspector of a running \`hearth dev\` / \`hearth start --inspector\`: JSON out (one JSON line per
message for streams), \`--pretty\` for tables. Commands marked (admin) change something.

Agents:
  overview                                  live agents, requests, schedules, workflows, problems
  classes                                   agent classes with live counts
  session                                   who you are to the inspector (viewer or admin) and the host
  agents [class] [--q <text>]               agent instances (name prefix or substring)
  agent <Class>/<name>                      one agent's summary and features
  state <Class>/<name>                      an agent's state
  set-state <Class>/<name> <json>           replace the state (admin; goes through validateStateChange)
  sql <Class>/<name> "<query>" [--write] [--params <json>]
                                            run SQL: read-only unless --write (admin)
  schema <Class>/<name>                     tables, columns and indexes
  table <Class>/<name> <table>              a table's rows, a page at a time
  chat <Class>/<name>                       the chat transcript, oldest first, and the token usage
  mcp <Class>/<name>                        MCP servers the agent is connected to, with their tools
  children <Class>/<name>                   sub-agents and facets
  connections <Class>/<name>                open WebSocket connections
  send-connection <Class>/<name> <id> <message>   send a text message on a connection (admin)
  close-connection <Class>/<name> <id> [--code <n>] [--reason <text>]   close it (admin)
  methods <Class>/<name>                    callable methods
  call <Class>/<name> <method> [json args]  invoke a callable method (admin)
  schedules <Class>/<name>                  schedules with their next runs
  run-schedule <Class>/<name> <id>          run a schedule now (admin)
  cancel-schedule <Class>/<name> <id>       cancel a schedule (admin)
  queue <Class>/<name>                      queued tasks, with their failed attempts and last error
  run-queued <Class>/<name> <id>            run a queued task now: first in line, its backoff and
                                            crash-loop breaker skipped (admin)
  dequeue <Class>/<name> <id>               remove a queued task (admin)

Workflows and team runs:
  workflows [--workflow <name>] [--status <status>] [--q <id text>]
  workflow <name>/<id>                      one instance with its steps
  start-workflow <name> [json params] [--id <id>]   (admin)
  send-workflow-event <name>/<id> <type> [json payload]   the event a waitForEvent step waits for (admin)
  pause-workflow | resume-workflow | terminate-workflow | restart-workflow <name>/<id>   (admin)
  team-runs [<Class>/<name>] [--class <c>] [--status <status>]
                                            team runs: every agent's, or one agent's
  team-run <Class>/<name>/<runId>           one run with its steps (inputs and outputs)
  start-team-run <Class>/<name> <team> [json input]   start a run (admin)
  restart-team-run <Class>/<name>/<runId>   a new run of the same team with the same input (admin)
  pause-team-run | resume-team-run <Class>/<name>/<runId>   (admin)
  cancel-team-run <Class>/<name>/<runId> [reason]             (admin)
  approve-team-run <Class>/<name>/<runId> <path> [json value]   send a run the event it waits for (admin)
  reject-team-run <Class>/<name>/<runId> <path> [reason]        (admin)

Observability:
  traces [--class <c>] [--agent <name>] [--conversation <id>] [--model <m>] [--error]
         [--min-duration-ms <n>] [--min-cost-usd <n>]   recent traces
  trace <traceId>                           one trace with its spans
  logs [--level <l>] [--class <c>] [--agent <name>] [--trace <id>] [--q <text>] [--since <time>]
                                            stored log entries, newest first (--level: that level and above;
                                            --since: epoch ms, a date, or 15m for 15 minutes ago)
  logs --follow [--level <l>] [--class <c>] [--agent <name>] [--trace <id>] [--q <text>]
                                            new entries as they come, until interrupted
  stream [--topics events,logs,spans,metrics] [--class <c>] [--agent <name>]
                                            the live stream: { topic, id, data } lines until interrupted
  metrics [--prometheus]                    metric series with the last hour's history
                                            (--prometheus: the text exposition)
  audit                                     changes made through the inspector

Alerts:
  alerts                                    alert rules, their state, and silences
  alert-history                             rules' state changes
  add-alert-rule <json rule>                add a rule (admin; its fields: docs/observability/alerts.md)
  delete-alert-rule <id>  |  test-alert-rule <id>   (admin; test sends a test notification)
  silence (--rule <id> | --severity <s> | --class <c>)... (--for <duration> | --until <time>) [--comment <text>]
                                            stop delivering matching alerts for a while (admin)
  delete-silence <id>                       (admin)
  contact-points                            where alerts are sent
  add-contact-point <name> <slack|webhook> <url> [--header "Name: value"]... [--replace]   (admin)
  delete-contact-point <name>               (admin)

Options:
  --url <url>            the inspector (default HEARTH_INSPECTOR_URL; else the server of this project)
  --token <token>        viewer or admin token (default HEARTH_INSPECTOR_TOKEN)
  --admin-token <token>  used for changes (default HEARTH_INSPECTOR_ADMIN_TOKEN, else --token)
  --sub <Class>/<name>   a sub-agent below the agent (repeat the pair for deeper ones)
  --limit <n>, --cursor <c>   paging of lists (the next page's cursor is the answer's "next")
  --pretty               a table instead of JSON
  -h, --help             this help
An option a command does not take is refused (exit status 2), not ignored.
Exit status: 0 done, 1 the API refused or failed, 2 a usage error.
`;

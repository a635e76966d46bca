/**
 * Nodes that choose who works: `route` (code, then a model's classification, then the default),
 * `fallback` (the next option when one fails, is too slow or fails a check) and `handoff` (the member
 * that owns a conversation answers, and may pass it on). Every choice is journaled before the chosen
 * member runs, so a resumed run never chooses again.
 */
import { generateText, jsonSchema, Output } from "ai";
import { errorInfo, isFinal, StepTimeoutError, TeamRoutingError } from "./errors.ts";
import { callMember } from "./member-call.ts";
import { at, nameOf } from "./places.ts";
import type { FallbackNode, HandoffNode, RouteNode } from "./nodes.ts";
import { effect, withTimeout, type Execute, type RunScope, type StepPlace } from "./scope.ts";
import { modelUsage } from "./usage.ts";

export async function executeChoice(scope: RunScope, node: RouteNode | FallbackNode | HandoffNode, input: unknown, place: StepPlace, execute: Execute): Promise<unknown> {
  switch (node.kind) {
    case "route": {
      const chosen = await chooseRoute(scope, node, input, place);
      return execute(scope, node.routes[chosen]!, input, at(place, routeSegment(chosen)));
    }
    case "fallback":
      return executeFallback(scope, node, input, place, execute);
    case "handoff":
      return executeHandoff(scope, node, input, place);
  }
}

/**
 * Where a route runs: its name, unless that is the decision's own place ("decision"); names starting
 * with "~" are escaped too, so no two routes share a place.
 */
function routeSegment(name: string): string {
  return name === DECISION || name.startsWith("~") ? `~${name}` : name;
}

const DECISION = "decision";

/**
 * The route's decision: journaled (with how it was made) before the route runs. A resumed run takes
 * the journaled route, however it was made and whatever the code or the model would say now.
 */
async function chooseRoute(scope: RunScope, node: RouteNode, input: unknown, place: StepPlace): Promise<string> {
  const byCode = node.by ? node.by(input) : undefined;
  const classifier = node.classify;
  if (byCode !== undefined || !classifier) {
    const decided = await effect(scope, at(place, DECISION), {
      kind: "decision",
      counts: false,
      report: true,
      run: () => {
        if (byCode === undefined) {
          if (node.default === undefined) throw new TeamRoutingError("route() code chose no route and there is no classifier or default");
          return Promise.resolve({ output: { route: node.default, by: "default" } });
        }
        if (!(byCode in node.routes)) throw new TeamRoutingError(`route() code chose "${byCode}", which is not one of its routes (${Object.keys(node.routes).join(", ")})`);
        return Promise.resolve({ output: { route: byCode, by: "code" } });
      },
    });
    return (decided as { route: string }).route;
  }
  const decision = await effect(scope, at(place, DECISION), {
    kind: "model",
    report: true,
    input,
    run: async (signal) => {
      const labels = Object.keys(classifier.labels);
      const result = await generateText({
        model: classifier.model,
        abortSignal: signal,
        system: [
          "Classify the user's request into exactly one of these categories.",
          `categories: ${labels.join(", ")}`,
          ...labels.map((label) => `- ${label}: ${classifier.labels[label]}`),
          "Answer with the category and your confidence between 0 and 1.",
          classifier.instructions ?? "",
        ].join("\n"),
        prompt: typeof input === "string" ? input : JSON.stringify(input),
        output: Output.object({
          schema: jsonSchema<{ label: string; confidence: number }>({
            type: "object",
            properties: { label: { type: "string", enum: labels }, confidence: { type: "number", minimum: 0, maximum: 1 } },
            required: ["label", "confidence"],
            additionalProperties: false,
          }),
        }),
      });
      const { label, confidence } = result.output;
      const threshold = classifier.threshold ?? 0.5;
      const route = labels.includes(label) && confidence >= threshold ? label : node.default;
      if (route === undefined) throw new TeamRoutingError(`the classifier chose "${label}" with confidence ${confidence} (threshold ${threshold}) and route() has no default`);
      return { output: { route, by: route === label ? "model" : "default", label, confidence }, usage: modelUsage(classifier.model, result.usage) };
    },
  });
  return decision.route;
}

async function executeFallback(scope: RunScope, node: FallbackNode, input: unknown, place: StepPlace, execute: Execute): Promise<unknown> {
  let lastError: unknown;
  for (const [i, option] of node.options.entries()) {
    const optionPlace = at(place, `${i}.${nameOf(option)}`);
    const timeout = withTimeout(scope.clock, place.signal, node.timeoutMs, () => new StepTimeoutError(`${nameOf(option)} took longer than ${node.timeoutMs} ms`));
    try {
      const output = await execute(scope, option, input, { ...optionPlace, signal: timeout.signal });
      if (!node.check || node.check(output)) return output;
      lastError = new Error(`${nameOf(option)}'s output failed the fallback check`);
    } catch (error) {
      if (isFinal(error)) throw error;
      if (node.on && !node.on(errorInfo(error))) throw error;
      lastError = error;
    } finally {
      timeout.clear();
    }
    if (i < node.options.length - 1) scope.emit("fallback", optionPlace.path, { error: errorInfo(lastError) });
  }
  throw lastError;
}

async function executeHandoff(scope: RunScope, node: HandoffNode, input: unknown, place: StepPlace): Promise<unknown> {
  const conversation = scope.conversation ?? scope.runId;
  const first = await effect(scope, at(place, "owner"), {
    kind: "decision",
    counts: false,
    report: true,
    run: () => Promise.resolve({ output: scope.journal.owner(`${scope.team}/${node.name}`, conversation) ?? node.start }),
  });
  let owner = first in node.members ? first : node.start;
  let value = input;
  for (let turn = 0; ; turn++) {
    const member = node.members[owner]!;
    const output = await callMember(scope, member, value, { ...at(place, `${turn}.${owner}`), depth: place.depth + turn });
    const next = node.handoffOf(output);
    if (!next) return output;
    if (!(next.to in node.members)) throw new TeamRoutingError(`${owner} handed off to "${next.to}", which is not a member of ${node.name} (${Object.keys(node.members).join(", ")})`);
    if (turn + 1 > node.maxHandoffs) throw new TeamRoutingError(`${node.name} handed off more than maxHandoffs (${node.maxHandoffs}) times for one message`);
    scope.journal.setOwner(`${scope.team}/${node.name}`, conversation, next.to, scope.now());
    scope.emit("handoff", place.path, { from: owner, to: next.to });
    owner = next.to;
    value = next.input ?? value;
  }
}

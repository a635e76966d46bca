/**
 * A supervisor: a model that delegates to members as tools until it can answer. Each model turn and
 * each delegation is its own journaled step, so a resumed supervisor rebuilds its conversation from
 * the journal and continues with the turn it was on.
 */
import { generateText, jsonSchema, tool, type JSONSchema7, type ModelMessage, type ToolSet } from "ai";
import { LoopLimitError } from "./errors.ts";
import { capChars } from "./caps.ts";
import { runAll } from "./fan-out.ts";
import { callMember } from "./member-call.ts";
import { at } from "./places.ts";
import type { SupervisorNode } from "./nodes.ts";
import { effect, type RunScope, type StepPlace } from "./scope.ts";
import { modelIdOf, modelUsage } from "./usage.ts";

interface Turn {
  text: string;
  toolCalls: Array<{ toolCallId: string; toolName: string; input: unknown }>;
  messages: ModelMessage[];
}

/** What a supervisor's model sees of one member's answer, at most, unless it says otherwise. */
export const DEFAULT_MAX_RESULT_CHARS = 8_000;

const DEFAULT_INPUT_SCHEMA: JSONSchema7 = { type: "object", properties: { request: { type: "string", description: "What the member should do" } }, required: ["request"] };

export async function executeSupervisor(scope: RunScope, node: SupervisorNode, input: unknown, place: StepPlace): Promise<unknown> {
  const members = new Map(node.members.map((m) => [toolName(m.name), m]));
  const tools: ToolSet = {};
  for (const [name, member] of members) {
    tools[name] = tool({ description: member.description ?? member.name, inputSchema: jsonSchema((member.inputSchema as JSONSchema7 | undefined) ?? DEFAULT_INPUT_SCHEMA) });
  }
  const messages: ModelMessage[] = [{ role: "user", content: typeof input === "string" ? input : JSON.stringify(input) }];
  const done = new Map<string, unknown>();
  const maxChars = node.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  for (let turnNo = 1; turnNo <= node.maxTurns; turnNo++) {
    const turnPlace = at(place, `turn-${turnNo}`);
    const turn = await effect<Turn>(scope, turnPlace, {
      kind: "model",
      estimate: { model: modelIdOf(node.model) },
      run: async (signal) => {
        const result = await generateText({ model: node.model, system: node.instructions, messages, tools, abortSignal: signal });
        const toolCalls = result.toolCalls.map((call) => ({ toolCallId: call.toolCallId, toolName: call.toolName, input: call.input }));
        return {
          output: { text: result.text, toolCalls, messages: result.response.messages },
          usage: modelUsage(node.model, result.usage, toolCalls.length),
        };
      },
    });
    messages.push(...turn.messages);
    if (turn.toolCalls.length === 0) {
      const verdict = node.isComplete ? node.isComplete(turn.text, input) : true;
      const complete = typeof verdict === "boolean" ? verdict : verdict.complete;
      if (complete) return turn.text;
      const feedback = typeof verdict === "object" && verdict.feedback ? verdict.feedback : "The task is not complete yet. Continue.";
      messages.push({ role: "user", content: feedback });
      continue;
    }
    // As a fan-out's branches: the first failure aborts the other delegations of the turn, and the
    // turn ends once all of them have settled (none goes on under a failed run or beside a fallback).
    const calls = turn.toolCalls;
    const results = (await runAll(scope, calls.length, calls.length, turnPlace, async (k, signal) => {
        const call = calls[k]!;
        const member = members.get(call.toolName);
        if (!member) return { call, output: `There is no member named ${call.toolName}.` };
        let memberInput: unknown = call.input;
        const decided = node.onDelegation?.({ member: member.name, input: memberInput });
        if (decided === false) return { call, output: `Delegation to ${member.name} was refused.` };
        if (decided && typeof decided === "object") memberInput = decided.input;
        // The same request twice is answered from the first: supervisors must not loop on a member.
        const key = `${member.name}\0${JSON.stringify(memberInput)}`;
        if (done.has(key)) return { call, output: done.get(key) };
        const output = await callMember(scope, member, memberInput, { ...at(turnPlace, `${k}.${member.name}`), depth: place.depth + 1, signal });
        done.set(key, output);
        return { call, output };
      })) as Array<{ call: (typeof calls)[number]; output: unknown }>;
    messages.push({
      role: "tool",
      content: results.map(({ call, output }) => ({
        type: "tool-result" as const,
        toolCallId: call.toolCallId,
        toolName: call.toolName,
        output:
          typeof output === "string"
            ? { type: "text" as const, value: capChars(output, maxChars) as string }
            : { type: "json" as const, value: (capChars(output ?? null, maxChars) ?? null) as never },
      })),
    });
  }
  throw new LoopLimitError(`supervisor ${node.name} reached maxTurns (${node.maxTurns}) without a final answer`);
}

/** Tool names models accept: letters, digits, _ and -. */
function toolName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 64);
}

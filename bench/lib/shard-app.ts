/** The entry `hearth start` serves in bench/shards.ts: the suite's Counter (POST = setState + INSERT). */
export { Counter } from "./agents.ts";

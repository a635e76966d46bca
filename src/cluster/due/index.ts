/** Durable time in a cluster: the owner keeps `actor_due` current, every node takes over dead nodes' due agents (docs/cluster/due.md). */
export { ClusterTime, type ClusterTimeOptions } from "./cluster-time.ts";
export { wakeInFile } from "./file-wake.ts";
export { preferredNode, rendezvousScore } from "./rendezvous.ts";
export { DueScanner, type DueScannerOptions, type DueScannerStats, type ScanOutcome } from "./scanner.ts";
export { DueWriter, type DueWriterOptions, type DueWriterStats } from "./writer.ts";

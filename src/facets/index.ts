/**
 * Facets: child actors created at run time inside a parent, each with its own SQLite database.
 * @module
 */
export { DurableObjectFacets, LOADED_CLASS, type LoadedClass, type FacetStartupOptions, type FacetStub } from "./facets.ts";
export { MAX_FACET_DEPTH, MAX_FACET_NAME_LENGTH } from "./limits.ts";
export type { LoadedDurableObjectClass, DurableObjectClassOptions } from "../sandbox/loaded-class.ts";

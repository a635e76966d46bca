/**
 * `Builder`: the operator's root agent. Every customer's agent is one of its sub-agents
 * (`CustomerAgent`, a facet with its own database); the Builder keeps who is suspended, answers the
 * operator's page (customers, storage, suspend, resume, delete) and guards the way in: requests to
 * `/agents/builder/<workspace>/sub/customer-agent/<customer>` pass its `onBeforeSubAgent` first.
 */
import { Agent, callable } from "hearth";
import { CustomerAgent, type Env } from "./customer-agent.ts";
import { BUILDER_LIMITS } from "./limits.ts";

/** One customer as the operator's page lists it (synced as the Builder's state). */
export interface CustomerSummary {
  name: string;
  /** Epoch milliseconds. */
  createdAt: number;
  suspended: boolean;
}

/** The Builder's state: the customers, oldest first. */
export interface BuilderState {
  customers: CustomerSummary[];
}

/** A row of {@link Builder.report}: a summary plus the size of the customer's own database. */
export interface CustomerReport extends CustomerSummary {
  /** Bytes of the customer's database: asked of the running agent; for a suspended one, measured when it was suspended. */
  storageBytes: number;
}

export class Builder extends Agent<Env, BuilderState> {
  override initialState: BuilderState = { customers: [] };

  override onStart(): void {
    this.sql`CREATE TABLE IF NOT EXISTS suspended (name TEXT PRIMARY KEY, at INTEGER NOT NULL, storage_bytes INTEGER NOT NULL)`;
  }

  /** Creates the customer's agent (its database is made on first use); opening an existing one is fine. */
  async createCustomer(name: string): Promise<CustomerSummary> {
    if (typeof name !== "string" || !BUILDER_LIMITS.customerName.test(name)) {
      throw new TypeError("Customer names are 1-32 of a-z, 0-9 and -, starting with a letter or digit");
    }
    if (this.#isSuspended(name)) throw new Error(`Customer ${name} is suspended by the operator`);
    if (!this.hasSubAgent(CustomerAgent, name) && this.listSubAgents(CustomerAgent).length >= BUILDER_LIMITS.maxCustomers) {
      throw new RangeError(`A builder has at most ${BUILDER_LIMITS.maxCustomers} customers`);
    }
    await this.subAgent(CustomerAgent, name);
    this.#publish();
    return this.#summaries().find((c) => c.name === name)!;
  }

  /** Every customer with the size of its database. */
  @callable() async report(): Promise<CustomerReport[]> {
    const rows: CustomerReport[] = [];
    for (const customer of this.#summaries()) {
      // A suspended agent stays stopped: asking it would start it again.
      const stored = this.sql<{ storage_bytes: number }>`SELECT storage_bytes FROM suspended WHERE name = ${customer.name}`[0];
      if (stored) {
        rows.push({ ...customer, storageBytes: stored.storage_bytes });
        continue;
      }
      // Deleted while this report waited for the ones before it: checked right before subAgent(),
      // which would otherwise create it again.
      if (!this.hasSubAgent(CustomerAgent, customer.name)) continue;
      try {
        rows.push({ ...customer, storageBytes: await (await this.subAgent(CustomerAgent, customer.name)).storageBytes() });
      } catch (error) {
        if (this.hasSubAgent(CustomerAgent, customer.name)) throw error; // not deleted meanwhile: a real failure
      }
    }
    return rows;
  }

  /** Stops the customer's agent (its data stays) and refuses its page until {@link resume}. */
  @callable() async suspend(name: string): Promise<void> {
    this.#known(name);
    if (this.#isSuspended(name)) return;
    const storageBytes = await (await this.subAgent(CustomerAgent, name)).storageBytes();
    // Deleted or suspended by another request while the size was read.
    if (!this.hasSubAgent(CustomerAgent, name) || this.#isSuspended(name)) return;
    this.sql`INSERT INTO suspended (name, at, storage_bytes) VALUES (${name}, ${Date.now()}, ${storageBytes})`;
    const reason = `Customer ${name} is suspended by the operator`;
    // Its open pages are closed first: stopping an agent keeps its clients' sockets (their next frame
    // would start it again), and the gate above refuses them from now on.
    await (await this.subAgent(CustomerAgent, name)).disconnectAll(reason);
    this.abortSubAgent(CustomerAgent, name, new Error(reason));
    this.#publish();
  }

  @callable() resume(name: string): void {
    this.#known(name);
    this.sql`DELETE FROM suspended WHERE name = ${name}`;
    this.#publish();
  }

  /** Deletes the customer's agent: its database and everything in it are gone from disk. */
  @callable() async deleteCustomer(name: string): Promise<void> {
    this.#known(name);
    await this.deleteSubAgent(CustomerAgent, name);
    this.sql`DELETE FROM suspended WHERE name = ${name}`;
    this.#publish();
  }

  /**
   * The gate in front of every customer's agent: unknown customers are not created by a URL, and a
   * suspended one is refused with a message its page shows.
   */
  override onBeforeSubAgent(_request: Request, child: { className: string; name: string }): Response | void {
    if (child.className !== "CustomerAgent" || !this.hasSubAgent(CustomerAgent, child.name)) {
      return Response.json({ error: `There is no customer named ${child.name}: create it on the start page first` }, { status: 404 });
    }
    if (this.#isSuspended(child.name)) {
      return Response.json({ error: `Customer ${child.name} is suspended by the operator` }, { status: 403 });
    }
  }

  #known(name: string): void {
    if (typeof name !== "string" || !this.hasSubAgent(CustomerAgent, name)) throw new TypeError(`There is no customer named ${String(name)}`);
  }

  #isSuspended(name: string): boolean {
    return this.sql`SELECT 1 FROM suspended WHERE name = ${name}`.length > 0;
  }

  #summaries(): CustomerSummary[] {
    const suspended = new Set(this.sql<{ name: string }>`SELECT name FROM suspended`.map((row) => row.name));
    return this.listSubAgents(CustomerAgent).map(({ name, createdAt }) => ({ name, createdAt, suspended: suspended.has(name) }));
  }

  /** The operator's page follows the list through the state. */
  #publish(): void {
    this.setState({ customers: this.#summaries() });
  }
}

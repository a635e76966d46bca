/* global Response, URL */
// A customer's app: counts its visits in the customer's own store (the only capability it has).
export default {
  async fetch(request, env) {
    const visits = Number((await env.store.get("visits")) ?? 0) + 1;
    await env.store.put("visits", String(visits));
    return Response.json({ visits, path: new URL(request.url).pathname });
  },
};

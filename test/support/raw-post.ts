/** A POST with headers fetch will not send (Host, as a DNS-rebinding page's browser would): status and body. */
import { request as httpRequest } from "node:http";

export function rawPost(base: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(path, base), { method: "POST", headers }, (response) => {
      let data = "";
      response.on("data", (chunk: Buffer) => (data += chunk.toString()));
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: data }));
    });
    request.on("error", reject);
    request.end(body);
  });
}

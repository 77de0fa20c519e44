// tests/openapi-client/client.ts: a typed client of renewd's API, generated
// from docs/openapi.yaml (openapi-typescript writes .generated/schema.d.ts;
// openapi-fetch makes the calls).  tests/openapi-client/run type-checks it
// with tsc --strict: the call that enables a plugin with its configuration
// compiles without a cast, and the lines marked @ts-expect-error must stay
// errors (a schema that typed everything as any, or a configuration as an
// empty object, would fail the check either way).
import createClient from "openapi-fetch";
import type { components, paths } from "./.generated/schema";

type Enablement = components["schemas"]["Enablement"];

export function client(baseUrl: string, token: string) {
  return createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${token}` } });
}

// Enables the card plugin for one partner with its configuration: a free-form
// object (additionalProperties: true) of the plugin's own settings.
export async function enableCard(baseUrl: string, token: string, partner: number): Promise<Enablement> {
  const api = client(baseUrl, token);
  const { data, error } = await api.POST("/api/v1/plugins/{name}/enablements", {
    params: { path: { name: "payment-card" } },
    body: {
      config: { base_url: "https://gateway.example", secret_key: "sk_test_1", webhook_secret: "whsec_1", timeout_ms: 5000 },
      partner_id: partner,
    },
  });
  if (error) {
    const message: string = error.error.message;
    throw new Error(`enabling payment-card: ${message}`);
  }
  const config: { [key: string]: unknown } = data.config;
  if (typeof config.base_url !== "string") throw new Error("no base_url in the stored configuration");
  return data;
}

// The payment options' labels of the loaded plugins (the ABI's ops V2 label).
export async function optionLabels(baseUrl: string, token: string): Promise<string[]> {
  const { data, error } = await client(baseUrl, token).GET("/api/v1/plugins");
  if (error) throw new Error(error.error.message);
  return data.items.flatMap((p) => p.labels ?? []);
}

// An order list filtered by a state the document enumerates.
export async function paidOrders(baseUrl: string, token: string): Promise<number> {
  const { data, error } = await client(baseUrl, token).GET("/api/v1/orders", { params: { query: { state: "paid" } } });
  if (error) throw new Error(error.error.message);
  return data.items.length;
}

export async function mistakes(baseUrl: string, token: string): Promise<void> {
  const api = client(baseUrl, token);
  // @ts-expect-error: a configuration is an object, not text
  await api.POST("/api/v1/plugins/{name}/enablements", { params: { path: { name: "payment-po" } }, body: { config: "{}" } });
  // @ts-expect-error: a state the document does not list
  await api.GET("/api/v1/orders", { params: { query: { state: "shipped" } } });
  // @ts-expect-error: no such route
  await api.GET("/api/v1/no-such-route");
}

// Where the examples find Kimberlite. The guide's samples use fixed local addresses; here
// KIMBERLITE_ADDRESSES ("host:port,host:port") overrides them so the samples run against any
// server, such as the one `kimberlite dev` starts.

/** The seed addresses to use: KIMBERLITE_ADDRESSES when set, else the sample's own. */
export function addresses(defaults: string[]): string[] {
  const env = process.env.KIMBERLITE_ADDRESSES;
  if (!env) return defaults;
  return env.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}

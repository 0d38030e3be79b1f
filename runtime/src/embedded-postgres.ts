// Filled in by the runtime work.
export async function startEmbeddedPostgres(_opts: { dataDir: string; port: number }): Promise<{ adminUrl: string; stop(): Promise<void> }> {
  throw new Error('not yet');
}

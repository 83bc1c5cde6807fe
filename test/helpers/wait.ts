// Waiting for a condition in tests: poll it with a deadline, never a bare sleep.

/** Polls `check` until it holds; `check` may throw to abort. Rejects after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let step = 20;
  while (true) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, step));
    step = Math.min(step * 2, 200);
  }
}

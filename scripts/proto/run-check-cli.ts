/** Runs a check as a command: its report on stdout when it passes, on stderr when it fails; exit 0 or 1. */
export function runCheckCli(check: Promise<{ ok: boolean; report: string }>): void {
  check
    .then(({ ok, report }) => {
      (ok ? process.stdout : process.stderr).write(`${report}\n`);
      process.exit(ok ? 0 : 1);
    })
    .catch((e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    });
}

export type GoogleCloudAccess = { ok: true; projectId: string } | { ok: false; problem: string };

/**
 * Checks, before turning Google Cloud export on, that this process has a
 * project and credentials (metadata server on Cloud Run/GCE, or ADC
 * elsewhere). Without them @genkit-ai/google-cloud still starts, then writes
 * errors to stderr for every log batch and export; one warning and no
 * export is the better failure.
 */
export async function checkGoogleCloudAccess(env: Readonly<Record<string, string | undefined>>, timeoutMs: number): Promise<GoogleCloudAccess> {
  // The plugin's own convention for credentials outside Google Cloud.
  const inline = env.GCLOUD_SERVICE_ACCOUNT_CREDS;
  // Imported here, not at the top: only Google Cloud export needs it, and it is large.
  const { GoogleAuth } = await import('google-auth-library');
  const auth = new GoogleAuth({
    scopes: ['https://www.googleapis.com/auth/cloud-platform'],
    ...(inline ? { credentials: JSON.parse(inline) as Record<string, string> } : {}),
  });
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<GoogleCloudAccess>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, problem: `no answer from Google Cloud auth within ${timeoutMs} ms` }), timeoutMs);
  });
  const check = (async (): Promise<GoogleCloudAccess> => {
    try {
      const projectId = await auth.getProjectId();
      await auth.getAccessToken();
      return { ok: true, projectId };
    } catch (e: unknown) {
      return { ok: false, problem: firstLine(e instanceof Error ? e.message : String(e)) };
    }
  })();
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}

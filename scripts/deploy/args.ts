/** The flags of `npm run deploy`. */

export interface DeployArgs {
  readonly demo: boolean;
  readonly dryRun: boolean;
  readonly context?: string;
  readonly timeoutSeconds?: number;
  readonly receiversFile?: string;
  readonly objstoreFile?: string;
  readonly help: boolean;
}

export const USAGE = `usage: npm run deploy -- [--demo] [--context NAME] [--timeout SECONDS] [--receivers-file PATH] [--objstore-file PATH] [--dry-run]
  --demo            also synthesize and apply the demo workload (dist-demo/): chat-like services and a load generator
  --context         kubectl context to deploy to (default: the current one)
  --timeout         seconds to wait for each rollout (default 300)
  --receivers-file  key=value lines: create or update the Alertmanager receivers' Secret from them (values never printed)
  --objstore-file   Thanos's object-store YAML: create or update the object-store Secret from it (content never printed)
  --dry-run         print the steps without running them`;

/** Parses the deploy script's flags; throws with the usage on anything unknown. */
export function parseDeployArgs(argv: readonly string[]): DeployArgs {
  let demo = false;
  let dryRun = false;
  let help = false;
  let context: string | undefined;
  let timeoutSeconds: number | undefined;
  let receiversFile: string | undefined;
  let objstoreFile: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (v === undefined || v === '') throw new Error(`${a.split('=')[0]} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--demo') demo = true;
    else if (a === '--dry-run') dryRun = true;
    else if (a === '--help' || a === '-h') help = true;
    else if (a === '--context' || a.startsWith('--context=')) context = value();
    else if (a === '--timeout' || a.startsWith('--timeout=')) {
      const v = value();
      timeoutSeconds = Number(v);
      if (!Number.isInteger(timeoutSeconds) || timeoutSeconds <= 0) throw new Error(`--timeout must be a positive whole number of seconds, not ${v}\n${USAGE}`);
    } else if (a === '--receivers-file' || a.startsWith('--receivers-file=')) receiversFile = value();
    else if (a === '--objstore-file' || a.startsWith('--objstore-file=')) objstoreFile = value();
    else throw new Error(`unknown argument ${a}\n${USAGE}`);
  }
  return { demo, dryRun, context, timeoutSeconds, receiversFile, objstoreFile, help };
}

/** Why a kubectl call of deploy failed, in the words of deploy's one error line (no I/O: unit-tested). */
import { Step } from './plan';

/** klog's line prefix (`E1125 18:04:05.615196   26604 memcache.go:265] `), which says nothing to a user. */
const KLOG_PREFIX = /^[EWIF]\d{4} [\d:.]+\s+\d+ \S+\] /;

/** kubectl's last non-empty stderr line, minus klog's prefix: where kubectl says why it failed. */
export function kubectlReason(stderr: string): string | undefined {
  const last = stderr.split('\n').map((l) => l.trim()).filter(Boolean).pop();
  return last?.replace(KLOG_PREFIX, '') || undefined;
}

/** kubectlReason, or else kubectl's exit status: what a failed call says in deploy's line. */
export const kubectlFailure = (stderr: string, status: number | null): string => kubectlReason(stderr) ?? `kubectl exited with ${status}`;

/** What deploy says when a poll gave up: its last try's reason, and for NotFound, who should have made it. */
export function pollFailure(step: Extract<Step, { kind: 'poll' }>, status: number | null, stderr: string): string {
  const reason = kubectlFailure(stderr, status);
  if (/\bNotFound\b|not found/.test(reason)) {
    return `${step.waitsFor} still does not exist after ${step.timeoutSeconds}s (${reason}): ${step.maker.what} has not created it; `
      + `its log says why: ${step.maker.logs}`;
  }
  return `gave up after ${step.timeoutSeconds}s: kubectl ${step.args.join(' ')} still fails (${reason})`;
}

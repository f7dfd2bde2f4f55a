/**
 * Stand-ins for the stack's pods on test hosts: one process inside the test hosts' network
 * namespace answering `/metrics` on every address:port a pod of the chart would listen on, so
 * Prometheus discovers and scrapes them through the real Kubernetes API. They emit one gauge; what
 * they prove is discovery, relabelling and reachability, not the programs' own metrics.
 */
import { RunningProcess } from './process';

export interface Listener {
  readonly address: string;
  readonly port: number;
}

const SERVER = `
const http = require('http');
const listeners = JSON.parse(process.argv[1]);
for (const { address, port } of listeners) {
  http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end('# TYPE chat_monitoring_stand_in gauge\\nchat_monitoring_stand_in 1\\n');
  }).listen(port, address);
}
`;

export async function startMetricsStandIns(netns: string, listeners: readonly Listener[]): Promise<RunningProcess> {
  if (listeners.length === 0) throw new Error('no listeners');
  return RunningProcess.start({
    name: 'metrics stand-ins',
    binary: process.execPath,
    args: ['-e', SERVER, JSON.stringify(listeners)],
    netns,
    ready: async () => {
      for (const l of listeners) if (!(await fetch(`http://${l.address}:${l.port}/metrics`)).ok) return false;
      return true;
    },
  });
}

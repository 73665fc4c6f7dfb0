// A stand-in for broker-worker.ts that speaks its protocol and then crashes: it reports a port as
// if listening, and throws on the next turn. broker.test.ts checks that the owner reports the crash
// to onError instead of losing the broker silently.
import { parentPort, workerData } from 'node:worker_threads';
import { brokerOptionsSchema, type FromBroker } from '../broker-protocol';

brokerOptionsSchema.parse(workerData);
parentPort!.postMessage({ type: 'ready', port: 1 } satisfies FromBroker);
setTimeout(() => {
  throw new Error('aedes fell over (fixture)');
}, 20);

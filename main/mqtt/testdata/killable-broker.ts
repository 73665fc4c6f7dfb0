// The real broker thread (broker-worker.ts, unchanged) that a test can kill as a crash would: a
// message on the BroadcastChannel 'omnisight-test-kill-brokers' ends every such thread at once with
// exit code 1, sockets and all, while it serves. The production code has no switch for this;
// restart.test.ts passes this file as the MQTT service's brokerEntry.
import { BroadcastChannel } from 'node:worker_threads';
import '../broker-worker';

const kill = new BroadcastChannel('omnisight-test-kill-brokers');
kill.onmessage = () => process.exit(1);
// The broker's server keeps the thread alive; this channel must not (close() ends the thread).
kill.unref();

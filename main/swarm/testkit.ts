// Test kit of the swarm (tests of other folders import it instead of reaching into sim/):
// deterministic camera keys and the signing side of the report envelope.
export { keyFromSeed, sealEnvelope, simKey, type SimKey } from './sim/keys';
// What a verification worker does, for tests that stand a pool in for verify-worker.ts in-process.
export { ed25519PublicKey, parseMessage, signatureValid } from './verify';

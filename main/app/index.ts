// The composition root's public surface, for the two entries (main/electron, main/serve.ts) and for
// tests that need a whole app. Capabilities never import it: they are linked here, not the reverse.
export { createApp, type App, type AppOptions } from './app';
export { startWebServer, contentSecurityPolicy, tokenMatches, WS_PROTOCOL, TOKEN_PROTOCOL_PREFIX, MAX_MESSAGE_BYTES, type WebServer, type WebServerOptions, type RouteHandler } from './web-server';
export { createFileKeySecretStore } from './secret-store-file';
export { createFleetRuntime, demoCountFromEnv, type FleetRuntime } from './fleet-runtime';
export { createNodeClipboard, type NodeClipboard } from './clipboard-node';

export { createKeyholeMcpServer, type GraphqlCall, type KeyholeMcpServerOptions } from './server.ts';
export { BrokerConnectError, mcpEndpointUrl, openStdioBridge, type StdioBridge } from './stdio-bridge.ts';
export { DATA_NOTICE, type GraphqlReply } from './tool-results.ts';

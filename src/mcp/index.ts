export { createKeyholeMcpServer, type GraphqlCall, type KeyholeMcpServerOptions } from './server.ts';
export { BrokerUnreachableError, graphqlEndpoint, httpGraphql, type HttpGraphqlOptions } from './http-graphql.ts';
export { DATA_NOTICE, type GraphqlReply } from './tool-results.ts';

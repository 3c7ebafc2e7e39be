/**
 * The AWS SDK parts the agent uses, in one module imported on first use (chain.ts, sign.ts): a
 * node that does not sign never loads them (~45 ms of start-up), and a dynamic import of the
 * packages themselves would bundle all of them (Cognito, SSO clients) instead of these.
 */
export { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';
export { Hash } from '@smithy/hash-node';
export { SignatureV4 } from '@smithy/signature-v4';

/**
 * The AWS SDK parts the agent uses, in one module that chain.ts imports on first use: a dynamic
 * import of the package itself would bundle all of it (Cognito, SSO clients) instead of these two.
 */
export { fromNodeProviderChain, fromTemporaryCredentials } from '@aws-sdk/credential-providers';

export * from './url-signer.ts';

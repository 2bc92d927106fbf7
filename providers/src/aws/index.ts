export {
  AwsProvider,
  type AwsProviderOptions,
  type AwsRef,
  clientToken,
  formatRef,
  groupName,
  keyName,
  parseRef,
  PROXY_PORTS,
  TAG_INSTANCE,
  TAG_OWNER,
} from "./provider.ts";
export { AWS_ENV, type AwsReach, type AwsSettings, awsMentioned, loadAwsSettings, missingAwsSettings } from "./settings.ts";

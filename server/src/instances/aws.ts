// The aws provider as this control plane runs it (docs/aws.md): its settings from the configuration,
// and what it needs from the database: the owner's SSH public key (imported as the VM's key pair), a
// one-time enrolment token for a VM that has not enrolled yet (the VM reads it from SSM and enrols like
// a user's machine: docs/hosts.md), and the reference it moves on (a new attempt, the EC2 id) saved
// before it waits for anything.
import { and, eq } from "drizzle-orm";
import { AwsProvider, type AwsProviderOptions } from "@tropic/providers";
import { awsMissing, type Config } from "../config.ts";
import type { Db } from "../db/connect.ts";
import { instances } from "../db/schema.ts";
import { issueEnrolment } from "../hosts/enrolment.ts";
import { currentKey } from "../ssh/keys.ts";

/** The provider, or undefined while AWS is not (fully) configured here: the API then says what to set. `extra`: tests' clients and timings, a logger. */
export function awsProviderFor(config: Config, db: Db, extra: Partial<AwsProviderOptions> = {}): AwsProvider | undefined {
  if (!config.aws || awsMissing(config).length) return undefined;
  return new AwsProvider({
    settings: config.aws,
    // The only Referer the VM's nginx lets through: the proxy sends the public URL's origin.
    ...(config.publicUrl ? { refererUrl: config.publicUrl } : {}),
    sshPublicKeyOf: async (ownerId) => (await currentKey(db, ownerId))?.publicKey,
    enrolmentToken: async (instanceId, ownerId) => {
      const [row] = await db
        .select({ host: instances.host })
        .from(instances)
        .where(and(eq(instances.id, instanceId), eq(instances.ownerId, ownerId), eq(instances.provider, "aws")))
        .limit(1);
      // Enrolled already (or gone): nothing new goes into SSM.
      if (!row || row.host) return null;
      return (await issueEnrolment(db, ownerId, instanceId)).token;
    },
    saveRef: async (instanceId, ref) => {
      await db
        .update(instances)
        .set({ providerRef: ref, updatedAt: new Date() })
        .where(and(eq(instances.id, instanceId), eq(instances.provider, "aws")));
    },
    ...extra,
  });
}

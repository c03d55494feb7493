/** The thread that bcrypt-hashes a new password (started by credential-hash.ts); it posts the hash back. */
import { parentPort, workerData } from "node:worker_threads";
import bcrypt from "bcryptjs";

const { password, cost } = workerData as { password: string; cost: number };
parentPort?.postMessage(bcrypt.hashSync(password, cost));

/** `npm run lab [-- --port N]`: a Jupyter notebook server with the tslab kernel, opened on notebooks/. */
import "../src/util/cli.js";
import { parseArgs } from "node:util";
import { startLab } from "./notebooks/lab.js";

const { values } = parseArgs({ options: { port: { type: "string" } } });
const lab = await startLab({ port: values.port ? Number(values.port) : 8888, log: (l) => console.error(l) });
console.log(`\nJupyter is running with the TypeScript (tslab) kernel. Open:\n\n    ${lab.url}\n\nCtrl-C stops it.`);
const stop = () => void lab.stop().then(() => process.exit(0));
process.on("SIGINT", stop);
process.on("SIGTERM", stop);

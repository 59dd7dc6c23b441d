import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {askModes, defaults, HindsightError, KV_ALONE_SUFFIX, LogStore} from "../../engine/index.js";
import {parseEvalMode, type EvalMode} from "../../eval/evalMode.js";
import {Journal} from "../../eval/Journal.js";
import {directoryBytes, summarize, toMarkdown, type RunMeta, type RunReport, type StorageSummary} from "../../eval/report.js";
import {rebuildStore, runEval, type EvalMetric, type EvalPhase} from "../../eval/runEval.js";
import {evoEvalFiles, loadSuite, suiteNames, type SuiteName} from "../../eval/suites.js";
import {answerStyles, type AnswerStyle} from "../../eval/datasets.js";
import {writeChart} from "../../eval/chart.js";
import {optFlag, optInt, optString, type ParsedArgs} from "../args.js";
import type {CliContext, CommandResult} from "../CliContext.js";
import {withEngine} from "../openEngine.js";

const list = (value: string | undefined) => value?.split(",").map((s) => s.trim()).filter((s) => s !== "");

/**
 * `hindsight eval --suite code|mmlupro|2wiki [--limit N] [--subset N:SEED] [--log-limit N] [--modes a,b] [--seed N] [--data F,F |
 * --sets concise,verbose] [--log-data F] [--corpus F] [--run NAME] [--out DIR] [--k 3] [--max-rounds N]
 * [--max-tokens N] [--answer-style body|whole|prefix] [--phase 1|2|both] [--metric pass|logprob] [--rebuild-store]
 * [--report-only]`:
 * runs (or continues) an evaluation and writes results.json, results.md and chart.svg under OUT/RUN.
 */
export async function evalCommand(ctx: CliContext, args: ParsedArgs): Promise<CommandResult> {
    const suiteName = (optString(args, "suite") ?? "code") as SuiteName;
    if (!suiteNames.includes(suiteName))
        throw new HindsightError("INVALID_ARGUMENT", `--suite must be one of ${suiteNames.join(", ")}.`);
    // by default every named mode and the product's default (a kv variant)
    const modes = (list(optString(args, "modes")) ?? [...new Set<string>([...askModes, defaults.mode])]) as EvalMode[];
    if (modes.length === 0)
        throw new HindsightError("INVALID_ARGUMENT", `--modes takes a comma-separated list of ${askModes.join(", ")} (or kv variants).`);
    for (const m of modes)
        parseEvalMode(m);
    const phase = (optString(args, "phase") ?? "both") as EvalPhase;
    if (!["1", "2", "both"].includes(phase))
        throw new HindsightError("INVALID_ARGUMENT", "--phase must be 1 (build the memory), 2 (answer the test tasks) or both.");
    const metric = (optString(args, "metric") ?? "pass") as EvalMetric;
    if (metric !== "pass" && metric !== "logprob")
        throw new HindsightError("INVALID_ARGUMENT", "--metric must be pass (answer and grade) or logprob (score the reference answer, no generation).");
    const answerStyle = (optString(args, "answer-style") ?? "body") as AnswerStyle;
    if (!answerStyles.includes(answerStyle))
        throw new HindsightError("INVALID_ARGUMENT", `--answer-style must be one of ${answerStyles.join(", ")}.`);
    const limit = optString(args, "limit") == null ? undefined : optInt(args, "limit", 0, {min: 1, max: 100000});
    const logLimit = optString(args, "log-limit") == null ? undefined : optInt(args, "log-limit", 0, {min: 0, max: 100000});
    const seed = optInt(args, "seed", 0, {min: 0, max: 2 ** 31});
    const k = optInt(args, "k", 3, {min: 1, max: 20});
    const maxRounds = optString(args, "max-rounds") == null ? undefined : optInt(args, "max-rounds", 1, {min: 1, max: 20});
    const maxTokens = optString(args, "max-tokens") == null ? undefined : optInt(args, "max-tokens", 384, {min: 16, max: 8192});
    const subsetArg = optString(args, "subset");
    const subsetMatch = subsetArg == null ? null : /^(\d+):(\d+)$/.exec(subsetArg);
    if (subsetArg != null && (subsetMatch == null || Number(subsetMatch[1]) < 1 || Number(subsetMatch[2]) < 1))
        throw new HindsightError("INVALID_ARGUMENT", "--subset takes N:SEED (both at least 1): N of the tasks --limit leaves, drawn with SEED.");
    const subset = subsetMatch == null ? undefined : {n: Number(subsetMatch[1]), seed: Number(subsetMatch[2])};
    const sets = list(optString(args, "sets"));
    if (sets != null && optString(args, "data") != null)
        throw new HindsightError("INVALID_ARGUMENT", "Give --sets (shipped EvoEval sets by name) or --data (files), not both.");
    const suite = loadSuite(suiteName, {
        data: sets != null ? evoEvalFiles(sets) : list(optString(args, "data"))?.map((f) => path.resolve(f)),
        logData: list(optString(args, "log-data"))?.map((f) => path.resolve(f)),
        corpus: optString(args, "corpus"), limit, logLimit, seed, maxRounds, maxTokensPerRound: maxTokens, answerStyle, subset
    });
    if (suite.testTasks.length === 0 && phase !== "1")
        throw new HindsightError("INVALID_ARGUMENT", "No tasks to evaluate: check --data and --limit.");

    const modelStem = ctx.modelPath == null ? "model" : path.basename(ctx.modelPath).replace(/\.gguf$/i, "");
    const runName = optString(args, "run") ?? `${suiteName}-${modelStem}-n${limit ?? "all"}-s${seed}`;
    const runDir = path.resolve(optString(args, "out") ?? path.join("eval", "results"), runName);
    fs.mkdirSync(runDir, {recursive: true});
    const journal = Journal.open(path.join(runDir, "items.jsonl"));
    const storeDir = path.join(runDir, "store");
    const metaFile = path.join(runDir, "meta.json");
    const command = "hindsight " + process.argv.slice(2).map((a) => /^[\w./,:=@-]+$/.test(a) ? a : JSON.stringify(a)).join(" ");
    const workspace = `eval:${suiteName}`;
    const previous = fs.existsSync(metaFile) ? JSON.parse(fs.readFileSync(metaFile, "utf8")) as RunMeta : null;
    const rebuild = optFlag(args, "rebuild-store");

    if (!optFlag(args, "report-only")) {
        await withEngine({...ctx, storeDir}, args, async (engine) => {
            const rt = engine.runtime;
            const meta: RunMeta = {
                suite: suiteName, command, commands: [...(previous?.commands ?? (previous != null ? [previous.command] : [])), command],
                model: {
                    path: rt.options.modelPath, name: modelName(rt.model.fileInfo.metadata), sha256: rt.fingerprint.parts.modelSha256,
                    kvType: rt.options.kvType, threads: rt.options.threads, contextSize: rt.options.contextSize
                },
                embeddingSpace: engine.embeddingSpace,
                seed, logTasks: Math.max(suite.logTasks.length, previous?.logTasks ?? 0), testTasks: suite.testTasks.length,
                modes: runModes(previous?.modes ?? [], phase === "1" ? [] : modes), k,
                maxRounds: suite.maxRounds, maxTokensPerRound: suite.maxTokensPerRound, answerStyle: suite.name === "code" ? answerStyle : undefined,
                data: union(previous?.data, suite.files.data.map(relative)), logData: union(previous?.logData, suite.files.logData.map(relative)),
                host: `${os.cpus()[0]?.model ?? "cpu"} (${rt.device})`, updatedAt: new Date().toISOString()
            };
            if (previous != null)
                checkSameSettings(previous, meta);
            fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2) + "\n");
            if (rebuild) {
                ctx.info(`Rebuilding the log store of ${runName} from its journal (no generation)...`);
                const r = await rebuildStore(engine, journal, workspace, {signal: ctx.signal,
                    progress: ctx.json ? undefined : (done, total) => ctx.info(`  log ${done} of ${total} stored`)});
                ctx.info(`Stored ${r.logs} logs` + (r.resumed > 0 ? ` (${r.resumed} of them stored before, by the rebuild this one continues)` : "") + (r.approximate > 0 ? ` (${r.approximate} from answers: the journal predates full responses)` : "") + ".");
            }
            ctx.info(`Run ${runName}: ${phase === "2" ? 0 : suite.logTasks.length} tasks to log, ${phase === "1" ? 0 : suite.testTasks.length} x ${modes.length} modes; results in ${runDir}`);
            await runEval(engine, suite, journal, {modes, workspace, k, phase, metric, signal: ctx.signal, progress: ctx.json ? null : undefined});
            meta.updatedAt = new Date().toISOString();
            fs.writeFileSync(metaFile, JSON.stringify(meta, null, 2) + "\n");
        });
    }
    if (!fs.existsSync(metaFile))
        throw new HindsightError("INVALID_ARGUMENT", `No run at ${runDir} to report on; run it first (without --report-only).`);
    const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as RunMeta;
    // a run whose modes were filled in by several commands is reported over the modes asked for here
    if (optFlag(args, "report-only") && optString(args, "modes") != null)
        meta.modes = modes;
    // a run reported where its store is not (a fresh clone) keeps the storage figures measured where it was
    const resultsFile = path.join(runDir, "results.json");
    const measured = fs.existsSync(resultsFile) ? (JSON.parse(fs.readFileSync(resultsFile, "utf8")) as Partial<RunReport>).storage ?? null : null;
    const report = summarize(meta, journal.all(), await storageOf(storeDir, workspace) ?? measured);
    fs.writeFileSync(resultsFile, JSON.stringify(report, null, 1) + "\n");
    const markdown = toMarkdown(report);
    fs.writeFileSync(path.join(runDir, "results.md"), markdown);
    writeChart(path.join(runDir, "chart.svg"), report);
    fs.rmSync(path.join(runDir, "chart.png"), {force: true}); // the bitmap chart of older versions
    return {json: {runDir, phase1: report.phase1, modes: report.modes, completeTasks: report.completeTasks, kvVersus: report.kvVersus, storage: report.storage}, text: markdown};
}

const union = (a: readonly string[] | undefined, b: readonly string[]) => [...new Set([...(a ?? []), ...b])];

/** A run's modes: the named ones in `askModes` order, then the variants in the order they were first asked for. */
function runModes(previous: readonly EvalMode[], now: readonly EvalMode[]): EvalMode[] {
    const all = union(previous, now) as EvalMode[];
    return [...askModes.filter((m) => all.includes(m)), ...all.filter((m) => !(askModes as readonly string[]).includes(m))];
}

/**
 * A run is one experiment: every command that fills it in (and a store rebuilt for it) must use the model, KV
 * cache type, embeddings and limits it started with, or its modes would not be comparable.
 */
function checkSameSettings(previous: RunMeta, now: RunMeta): void {
    const differ: string[] = [];
    if (previous.model.sha256 !== now.model.sha256)
        differ.push(`model ${previous.model.name} (sha256 ${previous.model.sha256.slice(0, 12)}) vs ${now.model.name} (${now.model.sha256.slice(0, 12)})`);
    if (previous.model.kvType !== now.model.kvType)
        differ.push(`KV cache ${previous.model.kvType} vs ${now.model.kvType}`);
    if (previous.embeddingSpace != null && previous.embeddingSpace !== now.embeddingSpace)
        differ.push(`embeddings ${previous.embeddingSpace} vs ${now.embeddingSpace}`);
    // runs from before answer styles asked for the whole function
    const before = {...previous, answerStyle: previous.answerStyle ?? (previous.suite === "code" ? "whole" : undefined)};
    for (const key of ["k", "maxRounds", "maxTokensPerRound", "answerStyle"] as const)
        if (before[key] !== undefined && before[key] !== now[key])
            differ.push(`${key} ${String(before[key])} vs ${String(now[key])}`);
    if (differ.length > 0)
        throw new HindsightError("INVALID_ARGUMENT", `This run was started with other settings (${differ.join("; ")}). ` +
            "Continue it with the settings in its meta.json, or start a new one with another --run name.");
}

function relative(file: string): string {
    const rel = path.relative(process.cwd(), file);
    return rel.startsWith("..") ? file : rel;
}

function modelName(metadata: unknown): string {
    const general = (metadata as {general?: {name?: unknown, size_label?: unknown, file_type?: unknown}}).general;
    return typeof general?.name === "string" ? general.name : "unknown model";
}

async function storageOf(storeDir: string, workspace: string): Promise<StorageSummary | null> {
    if (!fs.existsSync(storeDir))
        return null;
    const store = await LogStore.open(storeDir, {readOnly: true});
    try {
        const logs = await store.listLogs({workspace});
        let text = 0, kv = 0, kvN = 0, kvTokens = 0, alone = 0, aloneN = 0;
        for (const log of logs) {
            text += Buffer.byteLength(log.logText);
            for (const info of await store.kvInfo(log.id)) {
                // LAG's blobs and kv-alone's; the variants' (#task, #sink) are counted in neither
                const suffix = info.fingerprint.slice(info.fingerprint.indexOf("#") < 0 ? info.fingerprint.length : info.fingerprint.indexOf("#"));
                if (suffix === KV_ALONE_SUFFIX) {
                    alone += info.bytes;
                    aloneN++;
                } else if (suffix === "") {
                    kv += info.bytes;
                    kvTokens += info.nTokens;
                    kvN++;
                }
            }
        }
        return {
            logs: logs.length, textBytesPerLog: logs.length === 0 ? 0 : text / logs.length,
            kvBytesPerLog: kvN === 0 ? null : kv / kvN, kvAloneBytesPerLog: aloneN === 0 ? null : alone / aloneN,
            kvTokensPerLog: kvN === 0 ? null : kvTokens / kvN, storeBytesOnDisk: directoryBytes(storeDir)
        };
    } finally {
        store.close();
    }
}

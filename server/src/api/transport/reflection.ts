// gRPC server reflection, v1 and v1alpha (bidi ServerReflectionInfo), for
// Connect. Both versions have the same message shapes, so one index answers
// both; each version only wraps the answer in its own response message.
//
//   registerReflection(router, [file_grepstreams_v1_grep, Health]);
//
// lists the services of the given files plus the given services, plus
// grpc.reflection.v1(alpha).ServerReflection themselves, and answers
// file_by_filename / file_containing_symbol with the serialized
// FileDescriptorProto of the file and of all its transitive dependencies.

import { create, toBinary, type DescFile, type DescMessage, type DescService } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter, ServiceImpl } from "@connectrpc/connect";
import * as v1 from "@grep-streams/sdk/gen/grpc/reflection/v1/reflection_pb.js";
import * as v1alpha from "@grep-streams/sdk/gen/grpc/reflection/v1alpha/reflection_pb.js";

/** A file (all its services are listed) or a single service (listed; its file is indexed). */
export type ReflectionInput = DescFile | DescService;

export interface ReflectionOptions {
  /** List and index grpc.reflection.v1(alpha).ServerReflection too (default true). */
  includeReflection?: boolean;
}

/** gRPC status codes used in error_response (grpc::StatusCode). */
const NOT_FOUND = 5;
const INVALID_ARGUMENT = 3;

/** A request of either version: the fields read here are the same. */
export type ReflectionRequest = v1.ServerReflectionRequest | v1alpha.ServerReflectionRequest;

/** The message_response oneof as plain init objects, valid for both versions. */
export type ReflectionAnswer =
  | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
  | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
  | { case: "listServicesResponse"; value: { service: Array<{ name: string }> } }
  | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } };

/** The descriptors a reflection service knows, and the answers it gives. */
export class ReflectionIndex {
  readonly #services: string[] = [];
  readonly #files = new Map<string, DescFile>();
  readonly #symbols = new Map<string, DescFile>();
  readonly #messages = new Map<string, DescMessage>();
  /** extendee type name -> extension number -> file declaring the extension */
  readonly #extensions = new Map<string, Map<number, DescFile>>();
  readonly #encoded = new Map<DescFile, Uint8Array>();

  constructor(inputs: Iterable<ReflectionInput>, options: ReflectionOptions = {}) {
    const all: ReflectionInput[] = [...inputs];
    if (options.includeReflection ?? true) all.push(v1.ServerReflection, v1alpha.ServerReflection);
    const listed = new Set<string>();
    for (const input of all) {
      const services = input.kind === "file" ? input.services : [input];
      for (const s of services) {
        if (listed.has(s.typeName)) continue;
        listed.add(s.typeName);
        this.#services.push(s.typeName);
      }
      this.#addFile(input.kind === "file" ? input : input.file);
    }
  }

  /** Fully-qualified names of the listed services, in the order given. */
  get services(): readonly string[] {
    return this.#services;
  }

  /** All indexed files, including transitive dependencies. */
  get files(): Iterable<DescFile> {
    return this.#files.values();
  }

  fileByName(name: string): DescFile | undefined {
    return this.#files.get(name);
  }

  /** The file declaring a message, enum, enum value, field, oneof, extension, service or method. */
  fileContainingSymbol(symbol: string): DescFile | undefined {
    return this.#symbols.get(stripDot(symbol));
  }

  fileContainingExtension(containingType: string, extensionNumber: number): DescFile | undefined {
    return this.#extensions.get(stripDot(containingType))?.get(extensionNumber);
  }

  /** Extension numbers of a known message type (sorted), or undefined if the type is unknown. */
  extensionNumbers(typeName: string): number[] | undefined {
    const name = stripDot(typeName);
    if (!this.#messages.has(name)) return undefined;
    return [...(this.#extensions.get(name)?.keys() ?? [])].sort((a, b) => a - b);
  }

  /** The serialized FileDescriptorProto of a file, then of each transitive dependency (each once). */
  fileDescriptorProtos(file: DescFile): Uint8Array[] {
    const out: Uint8Array[] = [];
    const seen = new Set<DescFile>();
    const visit = (f: DescFile) => {
      if (seen.has(f)) return;
      seen.add(f);
      out.push(this.#encode(f));
      for (const dep of f.dependencies) visit(dep);
    };
    visit(file);
    return out;
  }

  /** Answer one request (the message_response oneof of either version). */
  answer(req: ReflectionRequest): ReflectionAnswer {
    const m = req.messageRequest;
    switch (m.case) {
      case "listServices":
        return { case: "listServicesResponse", value: { service: this.#services.map((name) => ({ name })) } };
      case "fileByFilename":
        return this.#fileAnswer(this.fileByName(m.value), `file "${m.value}" not found`);
      case "fileContainingSymbol":
        return this.#fileAnswer(this.fileContainingSymbol(m.value), `symbol "${m.value}" not found`);
      case "fileContainingExtension": {
        const { containingType, extensionNumber } = m.value;
        return this.#fileAnswer(
          this.fileContainingExtension(containingType, extensionNumber),
          `extension ${extensionNumber} of "${containingType}" not found`,
        );
      }
      case "allExtensionNumbersOfType": {
        const numbers = this.extensionNumbers(m.value);
        if (numbers === undefined) return error(NOT_FOUND, `type "${m.value}" not found`);
        return { case: "allExtensionNumbersResponse", value: { baseTypeName: stripDot(m.value), extensionNumber: numbers } };
      }
      default:
        return error(INVALID_ARGUMENT, "empty or unknown message_request");
    }
  }

  #fileAnswer(file: DescFile | undefined, notFound: string): ReflectionAnswer {
    if (!file) return error(NOT_FOUND, notFound);
    return { case: "fileDescriptorResponse", value: { fileDescriptorProto: this.fileDescriptorProtos(file) } };
  }

  #encode(file: DescFile): Uint8Array {
    let bytes = this.#encoded.get(file);
    if (!bytes) this.#encoded.set(file, (bytes = toBinary(FileDescriptorProtoSchema, file.proto)));
    return bytes;
  }

  #addFile(file: DescFile): void {
    if (this.#files.has(file.proto.name)) return;
    this.#files.set(file.proto.name, file);
    for (const dep of file.dependencies) this.#addFile(dep);
    const sym = (name: string) => {
      if (!this.#symbols.has(name)) this.#symbols.set(name, file);
    };
    const pkg = file.proto.package;
    const addEnum = (scope: string, e: DescFile["enums"][number]) => {
      sym(e.typeName);
      for (const v of e.values) sym(scope ? `${scope}.${v.name}` : v.name); // enum values are siblings of their enum
    };
    const addExtension = (x: DescFile["extensions"][number]) => {
      sym(x.typeName);
      let byNumber = this.#extensions.get(x.extendee.typeName);
      if (!byNumber) this.#extensions.set(x.extendee.typeName, (byNumber = new Map()));
      if (!byNumber.has(x.number)) byNumber.set(x.number, file);
    };
    const addMessage = (msg: DescMessage) => {
      sym(msg.typeName);
      this.#messages.set(msg.typeName, msg);
      for (const f of msg.fields) sym(`${msg.typeName}.${f.name}`);
      for (const o of msg.oneofs) sym(`${msg.typeName}.${o.name}`);
      for (const e of msg.nestedEnums) addEnum(msg.typeName, e);
      for (const x of msg.nestedExtensions) addExtension(x);
      for (const n of msg.nestedMessages) addMessage(n);
    };
    for (const msg of file.messages) addMessage(msg);
    for (const e of file.enums) addEnum(pkg, e);
    for (const x of file.extensions) addExtension(x);
    for (const s of file.services) {
      sym(s.typeName);
      for (const m of s.methods) sym(`${s.typeName}.${m.name}`);
    }
  }
}

/** The v1 and v1alpha service implementations over one index. */
export function createReflectionServices(
  inputs: Iterable<ReflectionInput> | ReflectionIndex,
  options: ReflectionOptions = {},
): {
  index: ReflectionIndex;
  v1: ServiceImpl<typeof v1.ServerReflection>;
  v1alpha: ServiceImpl<typeof v1alpha.ServerReflection>;
} {
  const index = inputs instanceof ReflectionIndex ? inputs : new ReflectionIndex(inputs, options);
  return {
    index,
    v1: {
      serverReflectionInfo: (requests) =>
        mapStream(requests, (req) =>
          create(v1.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: index.answer(req) }),
        ),
    },
    v1alpha: {
      serverReflectionInfo: (requests) =>
        mapStream(requests, (req) =>
          create(v1alpha.ServerReflectionResponseSchema, { validHost: req.host, originalRequest: req, messageResponse: index.answer(req) }),
        ),
    },
  };
}

/** Register grpc.reflection.v1 and v1alpha ServerReflection on a router. Returns the index. */
export function registerReflection(
  router: ConnectRouter,
  inputs: Iterable<ReflectionInput>,
  options: ReflectionOptions = {},
): ReflectionIndex {
  const impl = createReflectionServices(inputs, options);
  router.service(v1.ServerReflection, impl.v1);
  router.service(v1alpha.ServerReflection, impl.v1alpha);
  return impl.index;
}

async function* mapStream<I, O>(input: AsyncIterable<I>, fn: (i: I) => O): AsyncGenerator<O> {
  for await (const item of input) yield fn(item);
}

function error(errorCode: number, errorMessage: string): ReflectionAnswer {
  return { case: "errorResponse", value: { errorCode, errorMessage } };
}

function stripDot(name: string): string {
  return name.startsWith(".") ? name.slice(1) : name;
}

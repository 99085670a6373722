// Unit tests of the transport pieces without sockets: HealthStatus and the
// Watch generator, the reflection index, and the preface sniffer.

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create, createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import {
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  file_google_protobuf_api,
  file_google_protobuf_timestamp,
} from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import { file_grepstreams_v1_grep, GrepService } from "@grep-streams/sdk/gen/grepstreams/v1/grep_pb.js";
import { HealthCheckRequestSchema } from "@grep-streams/sdk/gen/grpc/health/v1/health_pb.js";
import * as v1 from "@grep-streams/sdk/gen/grpc/reflection/v1/reflection_pb.js";
import { createHealthService, Health, HealthStatus, ServingStatus } from "../../src/api/transport/health.js";
import { sniff } from "../../src/api/transport/listener.js";
import { ReflectionIndex } from "../../src/api/transport/reflection.js";

describe("HealthStatus", () => {
  it("defaults to the whole server SERVING; set/get; shutdown freezes NOT_SERVING until resume", () => {
    const h = new HealthStatus();
    assert.equal(h.get(""), ServingStatus.SERVING);
    assert.equal(h.get("x.Y"), undefined);
    h.set("x.Y", ServingStatus.SERVING);
    h.shutdown();
    assert.equal(h.get(""), ServingStatus.NOT_SERVING);
    assert.equal(h.get("x.Y"), ServingStatus.NOT_SERVING);
    h.set("x.Y", ServingStatus.SERVING); // ignored while shut down
    assert.equal(h.get("x.Y"), ServingStatus.NOT_SERVING);
    h.resume();
    assert.equal(h.get("x.Y"), ServingStatus.SERVING);
  });

  function context(signal?: AbortSignal) {
    return createHandlerContext({
      service: Health,
      method: Health.method.watch,
      protocolName: "test",
      requestMethod: "POST",
      url: "http://x/grpc.health.v1.Health/Watch",
      requestSignal: signal,
    });
  }

  it("Watch: current status first, changes coalesced, released on the signal", async () => {
    const h = new HealthStatus();
    const impl = createHealthService(h);
    const ac = new AbortController();
    const it = impl.watch(create(HealthCheckRequestSchema, { service: "" }), context(ac.signal))[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.status, ServingStatus.SERVING);
    // Two changes while the consumer is away: only the latest is sent.
    h.set("", ServingStatus.NOT_SERVING);
    h.set("", ServingStatus.UNKNOWN);
    assert.equal((await it.next()).value?.status, ServingStatus.UNKNOWN);
    // A change while the consumer waits is sent at once.
    const next = it.next();
    h.set("", ServingStatus.SERVING);
    assert.equal((await next).value?.status, ServingStatus.SERVING);
    // Away and back to the last sent status while the consumer is away: nothing to send.
    h.set("", ServingStatus.NOT_SERVING);
    h.set("", ServingStatus.SERVING);
    const after = it.next();
    h.set("", ServingStatus.NOT_SERVING);
    assert.equal((await after).value?.status, ServingStatus.NOT_SERVING);
    assert.equal(h.watcherCount, 1);
    const pending = it.next();
    ac.abort();
    assert.equal(h.watcherCount, 0, "released on abort, before the generator resumes");
    assert.equal((await pending).done, true);
  });

  it("Check of an unknown service is NOT_FOUND", () => {
    const impl = createHealthService(new HealthStatus());
    assert.throws(
      () => impl.check(create(HealthCheckRequestSchema, { service: "nope" }), context()),
      (err: unknown) => err instanceof ConnectError && err.code === Code.NotFound,
    );
  });
});

describe("ReflectionIndex", () => {
  it("lists the services of files and of single services, plus reflection, without duplicates", () => {
    const idx = new ReflectionIndex([file_grepstreams_v1_grep, GrepService]);
    assert.deepEqual(idx.services, [
      "grepstreams.v1.GrepService",
      "grpc.reflection.v1.ServerReflection",
      "grpc.reflection.v1alpha.ServerReflection",
    ]);
    assert.deepEqual(new ReflectionIndex([GrepService], { includeReflection: false }).services, ["grepstreams.v1.GrepService"]);
  });

  it("finds messages, fields, oneofs, enums, enum values, services and methods", () => {
    const idx = new ReflectionIndex([file_grepstreams_v1_grep, file_google_protobuf_api]);
    for (const sym of [
      "grepstreams.v1.Event",
      ".grepstreams.v1.Event",
      "grepstreams.v1.Event.id",
      "grepstreams.v1.StartPosition.position",
      "grepstreams.v1.GrepService",
      "grepstreams.v1.GrepService.Count",
    ]) {
      assert.equal(idx.fileContainingSymbol(sym)?.proto.name, "grepstreams/v1/grep.proto", sym);
    }
    assert.equal(idx.fileContainingSymbol("google.protobuf.Syntax")?.proto.name, "google/protobuf/type.proto");
    assert.equal(idx.fileContainingSymbol("google.protobuf.SYNTAX_PROTO3")?.proto.name, "google/protobuf/type.proto");
    assert.equal(idx.fileContainingSymbol("google.protobuf.Field.Kind.TYPE_STRING"), undefined);
    assert.equal(idx.fileContainingSymbol("google.protobuf.Field.TYPE_STRING")?.proto.name, "google/protobuf/type.proto");
    assert.equal(idx.fileContainingSymbol("grepstreams.v1.Nope"), undefined);
  });

  it("returns the file and all transitive dependencies, each once, enough to rebuild a registry", () => {
    const idx = new ReflectionIndex([file_google_protobuf_api]);
    const api = idx.fileContainingSymbol("google.protobuf.Api");
    assert.ok(api);
    const protos = idx.fileDescriptorProtos(api).map((b) => fromBinary(FileDescriptorProtoSchema, b));
    const names = protos.map((p) => p.name);
    assert.equal(names[0], "google/protobuf/api.proto");
    assert.deepEqual([...names].sort(), [
      "google/protobuf/any.proto",
      "google/protobuf/api.proto",
      "google/protobuf/source_context.proto",
      "google/protobuf/type.proto",
    ]);
    // Requested file first, as grpc-go does; a FileDescriptorSet wants dependencies first.
    const ordered: typeof protos = [];
    const visit = (name: string) => {
      const p = protos.find((q) => q.name === name);
      assert.ok(p, `dependency ${name} missing`);
      if (ordered.includes(p)) return;
      p.dependency.forEach(visit);
      ordered.push(p);
    };
    visit("google/protobuf/api.proto");
    const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
    assert.ok(registry.getMessage("google.protobuf.Api"));
    assert.equal(idx.fileByName("google/protobuf/any.proto")?.proto.name, "google/protobuf/any.proto");
  });

  it("answers both versions' request shapes; extensions: not found / empty; empty request: INVALID_ARGUMENT", () => {
    const idx = new ReflectionIndex([file_grepstreams_v1_grep, file_google_protobuf_timestamp]);
    const ask = (messageRequest: v1.ServerReflectionRequest["messageRequest"]) =>
      idx.answer(create(v1.ServerReflectionRequestSchema, { messageRequest }));
    assert.deepEqual(ask({ case: "fileContainingExtension", value: create(v1.ExtensionRequestSchema, { containingType: "google.protobuf.Timestamp", extensionNumber: 1 }) }).case, "errorResponse");
    assert.deepEqual(ask({ case: "allExtensionNumbersOfType", value: "google.protobuf.Timestamp" }), {
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "google.protobuf.Timestamp", extensionNumber: [] },
    });
    const unknownType = ask({ case: "allExtensionNumbersOfType", value: "no.Such" });
    assert.equal(unknownType.case === "errorResponse" && unknownType.value.errorCode, 5);
    const empty = ask({ case: undefined });
    assert.equal(empty.case === "errorResponse" && empty.value.errorCode, 3);
  });
});

describe("sniff", () => {
  const preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");
  it("classifies by the HTTP/2 preface", () => {
    assert.equal(sniff(Buffer.alloc(0)), "undecided");
    assert.equal(sniff(preface.subarray(0, 1)), "undecided");
    assert.equal(sniff(preface.subarray(0, 23)), "undecided");
    assert.equal(sniff(preface), "http2");
    assert.equal(sniff(Buffer.concat([preface, Buffer.from([0, 0, 0, 4])])), "http2");
    assert.equal(sniff(Buffer.from("G")), "http1");
    assert.equal(sniff(Buffer.from("PO")), "http1");
    assert.equal(sniff(Buffer.from("PRI * HTTP/1.1\r\n")), "http1");
    assert.equal(sniff(Buffer.from("PUT / HTTP/1.1\r\n")), "http1");
    assert.equal(sniff(Buffer.from([0x16, 0x03, 0x01])), "tls");
  });
});

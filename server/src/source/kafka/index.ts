// The Kafka implementation of Source.
export { KafkaSource } from "./kafka-source.js";
export type { KafkaSourceOptions, KafkaTlsOptions, KafkaSaslOptions } from "./options.js";
export { KafkaAuthenticationError, KafkaSourceClosedError, KafkaUnavailableError } from "./errors.js";

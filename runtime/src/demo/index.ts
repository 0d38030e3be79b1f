/**
 * The device simulator (pure signals per asset type), the demo fleet that `npm start` registers on
 * an empty platform, and the small API client both it and `npm run simulate` use.
 */
export {
  type ApiClient,
  createApiClient,
  listAllAssets,
  postReadings,
  registerAsset,
  sleep,
  waitUntilActive,
} from './api.client.js';
export {
  demoAssetBody,
  demoAssets,
  demoTechnicians,
  deviceOf,
  isDemoAsset,
  type SimulatorMetadata,
  simulatorMetadata,
} from './demo.fleet.js';
export {
  type DemoDeps,
  type DemoOptions,
  type DemoState,
  type RunningDemo,
  startDemo,
} from './demo.runner.js';
export {
  type DeviceModel,
  deviceModels,
  type FaultModel,
  type MetricLimit,
  type MetricModel,
  modelOf,
  simulatedTypes,
} from './device.models.js';
export {
  type ActiveFault,
  activeFaults,
  type Device,
  dailyLoad,
  energyAt,
  faultDurationMs,
  faultStrength,
  metricsOf,
  runHoursAt,
  type ScheduledFault,
  type SignalOptions,
  type SimulatedReading,
  sampleDevice,
  sampleOne,
} from './device.signals.js';
export { createRandom, gaussianOf, hashOf, type Random, smoothNoise, uniformOf } from './random.js';

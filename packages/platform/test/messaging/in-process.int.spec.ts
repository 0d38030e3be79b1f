import { createInProcessBus } from '../../src/index.js';
import { describeBackbone } from './backbone.suite.js';

describeBackbone({
  name: 'the in-process bus',
  async open() {
    const bus = createInProcessBus();
    return {
      producerBus: bus,
      consumerBus: bus,
      // In-process, a redelivery is the same batch delivered again: what a republishing relay does.
      redeliver: (event) => bus.publish([event]),
      close: () => bus.close(),
    };
  },
});

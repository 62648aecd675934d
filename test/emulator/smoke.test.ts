import { startEmbeddedEnvironment, type EmbeddedEnvironment } from '../../src/emulator';
import { chat, deployPool, LAB_MEMBERS } from './armClient';

describe('embedded environment end to end', () => {
  let env: EmbeddedEnvironment;
  beforeAll(async () => {
    env = await startEmbeddedEnvironment({ latencyScale: 0, seed: 1 });
  });
  afterAll(() => env.close());

  it('answers a chat completion through the deployed lab pool', async () => {
    await deployPool(env, LAB_MEMBERS);
    const answer = await chat(env);
    expect(answer.status).toBe(200);
    expect(['West US', 'East US']).toContain(answer.region);
    expect(answer.body.object).toBe('chat.completion');
  });
});

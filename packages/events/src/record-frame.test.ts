import { expect, it } from 'vitest';
import { checkFrame, FRAME_HEADER_BYTES, hasValidFrameAfter, writeFrame } from './record-frame.ts';

const data = Buffer.from('{"kind":"impression","eventId":"e-1"}');
const framed = () => {
  const out = Buffer.alloc(FRAME_HEADER_BYTES + data.length);
  expect(writeFrame(out, 0, data)).toBe(out.length);
  return out;
};

it('reads back a frame it wrote', () => {
  const out = framed();
  const c = checkFrame(out, 0, out.length, 1024);
  expect(c.kind).toBe('ok');
  if (c.kind === 'ok') expect(out.subarray(c.dataStart, c.end).equals(data)).toBe(true);
  expect(checkFrame(out, 0, out.length - 1, 1024).kind).toBe('partial');
});

it('detects every single flipped bit, in the length, the checksum and the data', () => {
  const clean = framed();
  for (let byte = 0; byte < clean.length; byte++) {
    for (let bit = 0; bit < 8; bit++) {
      const out = Buffer.from(clean);
      out[byte] = out[byte]! ^ (1 << bit);
      expect(checkFrame(out, 0, out.length, 1024).kind, `byte ${byte} bit ${bit}`).not.toBe('ok');
    }
  }
});

it('never takes zeros for a record', () => {
  const zeros = Buffer.alloc(4096);
  expect(checkFrame(zeros, 0, zeros.length, 1024).kind).toBe('corrupt');
  expect(hasValidFrameAfter(zeros, 0, zeros.length, 1024)).toBe(false);
});

it('finds a valid frame hidden after garbage', () => {
  const out = Buffer.concat([Buffer.from('garbage!'), framed()]);
  expect(hasValidFrameAfter(out, 1, out.length, 1024)).toBe(true);
});

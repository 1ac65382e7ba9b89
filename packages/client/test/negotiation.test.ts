import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideOnDescription, isOfferCollision, isPolite, type NegotiationState } from '../src/negotiation.ts';

const stable: NegotiationState = { makingOffer: false, signalingState: 'stable', settingRemoteAnswerPending: false };

describe('perfect negotiation decisions', () => {
  it('makes exactly one side of each pair polite', () => {
    for (const [a, b] of [
      ['abc', 'abd'],
      ['Z1', 'a1'],
      ['x', 'xy'],
    ] as const) {
      assert.notEqual(isPolite(a, b), isPolite(b, a), `${a} vs ${b}`);
    }
    assert.equal(isPolite('b', 'a'), true, 'the larger id is polite');
    assert.throws(() => isPolite('a', 'a'));
  });

  it('accepts an offer when stable and not making one', () => {
    assert.equal(isOfferCollision('offer', stable), false);
    assert.equal(decideOnDescription('offer', false, stable), 'apply');
    assert.equal(decideOnDescription('offer', true, stable), 'apply');
  });

  it('detects glare while we are making an offer or have one outstanding', () => {
    const making = { ...stable, makingOffer: true };
    const haveLocal: NegotiationState = { ...stable, signalingState: 'have-local-offer' };
    for (const state of [making, haveLocal]) {
      assert.equal(isOfferCollision('offer', state), true);
      assert.equal(decideOnDescription('offer', false, state), 'ignore', 'impolite ignores');
      assert.equal(decideOnDescription('offer', true, state), 'rollback-and-apply', 'polite rolls back');
    }
  });

  it('is not a collision while the remote answer is being applied', () => {
    const applyingAnswer: NegotiationState = {
      makingOffer: false,
      signalingState: 'have-local-offer',
      settingRemoteAnswerPending: true,
    };
    assert.equal(decideOnDescription('offer', false, applyingAnswer), 'apply');
  });

  it('never ignores an answer', () => {
    const haveLocal: NegotiationState = { ...stable, signalingState: 'have-local-offer', makingOffer: true };
    assert.equal(decideOnDescription('answer', false, haveLocal), 'apply');
    assert.equal(decideOnDescription('answer', true, haveLocal), 'apply');
  });
});

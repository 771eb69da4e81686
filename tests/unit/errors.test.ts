// One error base with a hint (contracts/errors.ts): every error meant for a
// person carries what happened and what to do in the same two fields, and the
// page shows both. Texts pinned as the reader sees them.
import { describe, expect, it } from 'vitest';
import { HintedError } from '../../contracts/errors.ts';
import { ClassroomDatabaseError } from '../../sandbox-server/src/classroom/database.ts';
import { HostNotSupportedError } from '../../sandbox-server/src/drivers/driver.ts';
import { CapacityError } from '../../sandbox-server/src/manager/sandbox-manager.ts';
import { DashboardApiError } from '../../src/client/dashboard/dashboard-api.ts';
import { refusalWords } from '../../src/client/refusal-words.ts';
import { SandboxRefusedError, SandboxServerMissingError, describeFailure } from '../../src/client/sandbox-errors.ts';
import type { ErrorInfo } from '../../contracts/errors.ts';

/** A refusal as sandbox-client.ts makes it: with the catalogue's words. */
const refusal = (status: number, info: ErrorInfo | undefined, retryAfter: number | undefined) =>
  new SandboxRefusedError(status, info, retryAfter, refusalWords(status, info));
import { ContentError } from '../../src/lib/hugo/errors.ts';

describe('the error base', () => {
  it('is the base of every error that carries a hint', () => {
    const errors = [
      new ClassroomDatabaseError('m', 'h'),
      new HostNotSupportedError('m', 'h'),
      new CapacityError('host', 'm', 'h', 30),
      new DashboardApiError(500, 'internal', 'm'),
      new SandboxServerMissingError('http://localhost:4321/', 'connexion refusée'),
      refusal(503, undefined, undefined),
      new ContentError({ file: 'content/a.md', reason: 'r' }),
    ];
    for (const error of errors) expect(error, error.name).toBeInstanceOf(HintedError);
    expect(new CapacityError('client', 'm', 'h', 60)).toMatchObject({ message: 'm', hint: 'h', scope: 'client', retryAfterSeconds: 60, name: 'CapacityError' });
  });

  it('keeps a cause', () => {
    const cause = new Error('low level');
    expect(new HintedError('high level', 'do this', { cause }).cause).toBe(cause);
  });
});

describe('what the reader is shown', () => {
  it('no server: says where it looked and how to start one', () => {
    expect(describeFailure(new SandboxServerMissingError('http://localhost:4321/', 'connexion refusée'))).toMatchInlineSnapshot(`
      {
        "hint": "Pour les exécuter, démarrez le serveur du cours à la racine du dépôt avec bash scripts/start.sh, puis rechargez la page. En attendant, « Copier » copie les commandes pour les taper dans votre propre VM.",
        "message": "Aucun serveur de machines ne répond à http://localhost:4321/ (connexion refusée) : les commandes ne peuvent pas être exécutées depuis cette page.",
      }
    `);
  });

  it("a refusal: the catalogue's French words for its code, never the server's English", () => {
    const refused = refusal(429, { code: 'too-many-sandboxes', message: 'You already have 3 sandboxes, the most one reader may hold at once.' }, 60);
    expect(describeFailure(refused)).toMatchInlineSnapshot(`
      {
        "hint": "Fermez les machines dont vous ne vous servez plus, ou attendez qu'elles expirent (une minute pour un onglet fermé), puis réessayez.",
        "message": "Le serveur n'a pas pu vous donner de machine : Trop de machines sont déjà ouvertes pour vous ou depuis votre adresse.",
      }
    `);
  });

  it('a refusal the classroom wrote in French itself is shown as sent', () => {
    const refused = refusal(403, { code: 'class-link-expired', lang: 'fr', message: 'Ce lien a expiré le 1 décembre 2026 à 18:00.' }, undefined);
    expect(describeFailure(refused).message).toBe("Le serveur n'a pas pu vous donner de machine : Ce lien a expiré le 1 décembre 2026 à 18:00.");
  });

  it('an error with no hint of its own gets a generic one', () => {
    expect(describeFailure(new DashboardApiError(0, 'unknown', 'Perdu.')).hint).toMatchInlineSnapshot(
      `"Réessayez ; si cela se répète, cliquez sur « Réinitialiser la machine »."`,
    );
  });
});

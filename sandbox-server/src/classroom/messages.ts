// What students and the instructor are told, in French (the course's
// language): what happened, then what to do. Dates are written the French
// way in the server's time zone (TZ), which is the class's.
import type { ErrorInfo } from '../../../contracts/protocol.ts';

const dateTime = new Intl.DateTimeFormat('fr-FR', { dateStyle: 'long', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat('fr-FR', { timeStyle: 'short' });

/** "12 mars 2026 à 18:00" */
export function frenchDateTime(at: number): string {
  return dateTime.format(new Date(at));
}

export function frenchTime(at: number): string {
  return timeOnly.format(new Date(at));
}

export const studentErrors = {
  linkRequired(): ErrorInfo {
    return {
      code: 'class-link-required',
      lang: 'fr',
      message: 'Ce serveur est réservé à une classe : ouvrez le lien personnel que votre formateur vous a donné.',
      hint: 'Sans ce lien, vous pouvez lire le cours et copier les commandes pour les taper dans votre propre VM.',
    };
  },
  linkUnknown(): ErrorInfo {
    return {
      code: 'class-link-invalid',
      lang: 'fr',
      message: "Ce lien d'accès n'est pas reconnu : il a peut-être été mal copié.",
      hint: "Rouvrez le lien reçu de votre formateur, en entier ; s'il ne marche toujours pas, demandez-lui un nouveau lien.",
    };
  },
  linkRevoked(at: number): ErrorInfo {
    return {
      code: 'class-link-revoked',
      lang: 'fr',
      message: `Ce lien a été révoqué par votre formateur le ${frenchDateTime(at)}.`,
      hint: 'Demandez-lui un nouveau lien : celui-ci ne fonctionnera plus.',
    };
  },
  linkExpired(at: number): ErrorInfo {
    return {
      code: 'class-link-expired',
      lang: 'fr',
      message: `Ce lien a expiré le ${frenchDateTime(at)}.`,
      hint: 'La séance est terminée ; pour continuer, demandez un nouveau lien à votre formateur.',
    };
  },
  rateLimited(seconds: number): ErrorInfo {
    return {
      code: 'rate-limited',
      lang: 'fr',
      message: 'Trop de tentatives de connexion depuis votre adresse.',
      hint: `Réessayez dans ${seconds} s.`,
    };
  },
  serverFull(maxSandboxes: number, retryAfterSeconds: number, now = Date.now()): ErrorInfo {
    return {
      code: 'server-at-capacity',
      lang: 'fr',
      message: `Le serveur de la classe fait déjà tourner son maximum de ${maxSandboxes} machines : réessayez dans ${retryAfterSeconds} s (vers ${frenchTime(now + retryAfterSeconds * 1000)}).`,
      hint: 'Votre formateur voit sur son tableau de bord pourquoi et peut libérer des machines.',
    };
  },
  wrongDriver(classDriver: string, serverDriver: string): ErrorInfo {
    return {
      code: 'sandbox-failed',
      lang: 'fr',
      message: `Cette classe a été créée pour des machines « ${classDriver} », mais ce serveur fait des machines « ${serverDriver} ».`,
      hint: 'Prévenez votre formateur : il doit recréer la classe ou redémarrer le serveur avec le bon SANDBOX_DRIVER.',
    };
  },
  sandboxFailed(): ErrorInfo {
    return {
      code: 'sandbox-failed',
      lang: 'fr',
      message: "Le serveur n'a pas pu démarrer votre machine.",
      hint: 'Réessayez dans un instant ; si cela se répète, prévenez votre formateur (le journal du serveur en donne la raison).',
    };
  },
};

/** Why the instructor's dashboard refused a request. */
export const instructorErrors = {
  keyRequired(): ErrorInfo {
    return {
      code: 'unauthorized',
      lang: 'fr',
      message: 'Il faut la clé formateur pour ouvrir le tableau de bord.',
      hint: 'Ouvrez le lien formateur affiché par « npm run class -- instructor » (sur le serveur), ou collez la clé dans le champ prévu.',
    };
  },
  keyRefused(): ErrorInfo {
    return {
      code: 'forbidden',
      lang: 'fr',
      message: "Cette clé n'ouvre pas le tableau de bord (clé d'élève, clé révoquée ou mal copiée).",
      hint: 'Utilisez la clé formateur ; « npm run class -- instructor » en crée une nouvelle sur le serveur.',
    };
  },
  classModeOff(): ErrorInfo {
    return {
      code: 'class-mode-off',
      lang: 'fr',
      message: "Le mode classe n'est pas activé sur ce serveur : chacun y a sa machine sans lien personnel.",
      hint: 'Pour suivre une classe, redémarrez le serveur avec CLASS_MODE=true (voir docs/hosting.md).',
    };
  },
};

/** Events the dashboard lists: why a student was refused a machine, who reset what. */
export const instructorEvents = {
  serverFull(student: string, maxSandboxes: number): string {
    return (
      `Machine refusée à ${student} : le serveur fait déjà tourner son maximum de ${maxSandboxes} machines (MAX_SANDBOXES). ` +
      'Détruisez des machines inutilisées ou augmentez MAX_SANDBOXES (voir le tableau de dimensionnement de docs/hosting.md).'
    );
  },
  sandboxFailed(student: string, why: string): string {
    return `La machine de ${student} n'a pas pu démarrer : ${why}.`;
  },
  wrongDriver(student: string, classDriver: string, serverDriver: string): string {
    return `Machine refusée à ${student} : la classe demande des machines « ${classDriver} », le serveur fait des « ${serverDriver} ».`;
  },
  reset(student: string): string {
    return `Machine de ${student} réinitialisée.`;
  },
  labMachineReset(student: string, machine: string): string {
    return `Machine ${machine} de ${student} réinitialisée (les autres machines de son lab continuent).`;
  },
  destroyed(student: string): string {
    return `Machine de ${student} détruite.`;
  },
  revoked(student: string): string {
    return `Lien de ${student} révoqué.`;
  },
  newLink(student: string): string {
    return `Nouveau lien pour ${student} (l'ancien ne fonctionne plus).`;
  },
};

// What a reader or an instructor reads when something fails: the French
// words for every wire error code, in one catalogue. The server's own
// `message` and `hint` are English, for developers and logs (the code is the
// contract); the page never shows them, it shows these instead. Errors the
// classroom composes itself, already in French and with their details (a
// date, a student's name), say so with `lang: "fr"` and are shown as sent.
//
// No imports but types: the page loads it as is.
import type { ErrorCode, ErrorInfo } from './errors.ts';

export interface FrenchWords {
  message: string;
  hint: string;
}

export const ERROR_WORDS_FR: Record<ErrorCode, FrenchWords> = {
  'bad-json': {
    message: 'La page a envoyé au terminal un message illisible.',
    hint: 'Rechargez la page ; si cela se répète, signalez-le avec le navigateur utilisé.',
  },
  'bad-message': {
    message: 'La page a envoyé au terminal un message mal formé.',
    hint: 'Rechargez la page ; le terminal continue de fonctionner.',
  },
  'unknown-type': {
    message: 'La page a envoyé au terminal un message inconnu.',
    hint: 'Rechargez la page : elle est peut-être plus ancienne que le serveur.',
  },
  'frame-too-large': {
    message: "Ce texte est trop long pour être envoyé d'un coup au terminal.",
    hint: 'Collez-le en plusieurs morceaux.',
  },
  'invalid-size': {
    message: "Cette taille de terminal n'est pas possible : la taille précédente est gardée.",
    hint: 'Agrandissez la fenêtre ou le panneau du terminal.',
  },
  'invalid-terminal-name': {
    message: "Ce nom de terminal n'est pas valable.",
    hint: "Les terminaux s'appellent « 1 », « 2 »… : rechargez la page.",
  },
  unauthorized: {
    message: 'Cette page ne présente pas la clé de votre machine.',
    hint: 'Rechargez la page : une nouvelle machine vous sera donnée si besoin.',
  },
  forbidden: {
    message: "Cette machine n'est pas la vôtre, ou votre accès a été retiré.",
    hint: 'Rechargez la page pour obtenir votre machine.',
  },
  'host-not-allowed': {
    message: "Le serveur des machines ne répond pas à l'adresse utilisée pour l'atteindre.",
    hint: "Ouvrez le cours par l'adresse habituelle ; la personne qui l'héberge peut ajouter ce nom à ALLOWED_HOSTS.",
  },
  'origin-not-allowed': {
    message: "Le serveur des machines n'accepte pas les pages de ce site.",
    hint: 'La personne qui héberge le cours doit ajouter ce site à ALLOWED_ORIGINS dans la configuration du serveur.',
  },
  'not-found': {
    message: 'Le serveur ne connaît pas (ou plus) cette machine.',
    hint: 'Rechargez la page pour obtenir une nouvelle machine.',
  },
  gone: {
    message: 'Votre machine a été arrêtée (inactive trop longtemps, trop ancienne, ou supprimée).',
    hint: 'Rechargez la page ou cliquez sur « Réinitialiser la machine » pour en obtenir une nouvelle.',
  },
  'machine-reset': {
    message: 'Cette machine du lab a été réinitialisée : ses terminaux ont été fermés.',
    hint: "Rouvrez le terminal : il démarre sur la machine neuve, qui garde son nom et son adresse. Les autres machines n'ont pas bougé.",
  },
  'taken-over': {
    message: 'Ce terminal est maintenant affiché dans une autre fenêtre ou un autre onglet.',
    hint: "Un terminal ne s'affiche qu'à un endroit à la fois : reconnectez-le ici pour le reprendre.",
  },
  'too-many-terminals': {
    message: 'Votre machine a déjà le nombre maximal de terminaux ouverts.',
    hint: 'Fermez un terminal dont vous ne vous servez plus (tapez exit dedans).',
  },
  'too-many-sandboxes': {
    message: 'Trop de machines sont déjà ouvertes pour vous ou depuis votre adresse.',
    hint: "Fermez les machines dont vous ne vous servez plus, ou attendez qu'elles expirent (une minute pour un onglet fermé), puis réessayez.",
  },
  'server-at-capacity': {
    message: "Le serveur fait déjà tourner toutes les machines qu'il peut.",
    hint: "Réessayez dans une minute : des machines se libèrent quand des lecteurs s'en vont.",
  },
  'server-shutting-down': {
    message: 'Le serveur des machines redémarre.',
    hint: 'Rechargez la page dans un instant.',
  },
  'server-restarting': {
    message: 'Le serveur redémarre : votre machine et vos terminaux sont conservés.',
    hint: 'La page se reconnecte toute seule dans un instant.',
  },
  'method-not-allowed': {
    message: "Le serveur n'accepte pas cette requête.",
    hint: 'Rechargez la page : elle est peut-être plus ancienne que le serveur.',
  },
  'sandbox-failed': {
    message: "Le serveur n'a pas réussi à démarrer une machine.",
    hint: 'Réessayez ; si cela se répète, le journal du serveur (message « sandbox creation failed ») en donne la raison.',
  },
  'terminal-failed': {
    message: "Le terminal n'a pas pu être ouvert dans votre machine.",
    hint: 'Réessayez ; si cela se répète, cliquez sur « Réinitialiser la machine ».',
  },
  internal: {
    message: 'Le serveur a rencontré une erreur interne ; votre machine et ses terminaux continuent.',
    hint: "La page se reconnecte d'elle-même ; si cela se répète, le journal du serveur en donne le détail.",
  },
  'class-link-required': {
    message: 'Ce serveur est réservé à une classe : ouvrez le lien personnel que votre formateur vous a donné.',
    hint: 'Sans ce lien, vous pouvez lire le cours et copier les commandes pour les taper dans votre propre VM.',
  },
  'class-link-invalid': {
    message: "Ce lien d'accès n'est pas reconnu.",
    hint: 'Rouvrez le lien reçu de votre formateur, en entier, ou demandez-lui un nouveau lien.',
  },
  'class-link-revoked': {
    message: 'Ce lien a été révoqué par votre formateur.',
    hint: 'Demandez-lui un nouveau lien.',
  },
  'class-link-expired': {
    message: 'Ce lien a expiré.',
    hint: 'Pour continuer, demandez un nouveau lien à votre formateur.',
  },
  'class-mode-off': {
    message: "Ce serveur n'accueille pas de classe.",
    hint: "Le tableau de bord n'existe que si le serveur est démarré avec CLASS_MODE=true.",
  },
  'rate-limited': {
    message: 'Trop de tentatives depuis votre adresse.',
    hint: 'Réessayez dans un moment.',
  },
  'invalid-request': {
    message: "Le serveur n'a pas compris cette demande.",
    hint: 'Vérifiez ce qui a été saisi, puis réessayez.',
  },
  'too-many-panels': {
    message: 'La vue des namespaces est déjà ouverte trop de fois pour cette machine.',
    hint: 'Fermez-la dans les autres onglets.',
  },
  'namespaces-failed': {
    message: "La vue des namespaces n'a pas pu lire les processus de la machine.",
    hint: "Elle réessaie d'elle-même ; sinon, rechargez la page.",
  },
  'bad-reply': {
    message: 'Le serveur a répondu quelque chose que la page ne sait pas lire.',
    hint: 'Rechargez la page : elle est peut-être plus ancienne que le serveur.',
  },
};

/** The words to show for `info`: its own when the server wrote them in French, else the catalogue's for its code. */
export function inFrench(info: Pick<ErrorInfo, 'code' | 'message' | 'hint'> & { lang?: string | undefined }): FrenchWords {
  const words = ERROR_WORDS_FR[info.code] ?? ERROR_WORDS_FR.internal;
  if (info.lang === 'fr') return { message: info.message, hint: info.hint ?? words.hint };
  return words;
}
